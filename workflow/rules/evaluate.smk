# Stage 4: model selection and the one tidy results table of the study.


localrules:
    results,


rule results:
    input:
        members=[f"{d}/members.csv" for d in finetune_dirs()],
        records=[f"{d}/record.json" for d in finetune_dirs()]
        + [f"results/{p}/record.json" for p in PRETRAIN_JOBS],
    output:
        results=report("results/results.csv", caption="../report/results.rst", category="Results"),
        history="results/history.csv",
        provenance="results/provenance.json",
    log:
        "results/logs/results.log",
    params:
        cfg=CFG,
        dirs=finetune_dirs(),
    script:
        "../scripts/collect_results.py"
