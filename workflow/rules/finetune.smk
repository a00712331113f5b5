# Stage 3: supervised fine-tuning; one population per (data set, depth, width[, method]).


rule finetune:
    input:
        data="results/data/{dataset}/data.npz",
        stacks=lambda w: [f"results/{p}/stack.pt" for p in finetune_job(w).pretrain_paths],
    output:
        members="results/finetune/{dataset}/d{depth}/{group}/members.csv",
        history="results/finetune/{dataset}/d{depth}/{group}/history.csv",
        record="results/finetune/{dataset}/d{depth}/{group}/record.json",
        config="results/finetune/{dataset}/d{depth}/{group}/config.yaml",
        weights=directory("results/finetune/{dataset}/d{depth}/{group}/weights"),
    log:
        "results/logs/finetune/{dataset}/d{depth}/{group}.log",
    params:
        cfg=CFG,
        job=finetune_job,
    threads: res("finetune", "threads")
    resources:
        **slurm_resources("finetune"),
    script:
        "../scripts/finetune.py"
