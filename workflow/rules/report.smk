# Stage 6: the report -- tables, figures, HTML and PDF -- built from the tidy table alone.


rule report:
    input:
        results="results/results.csv",
        history="results/history.csv",
        provenance="results/provenance.json",
        cards=expand("results/data/{dataset}/card.json", dataset=DATASETS),
        filters=[f"results/{p}/filters.npz" for p in PRETRAIN_JOBS],
        dropout_summary=(
            "results/dropout_study/summary.csv" if CFG["dropout_study"]["enabled"] else []
        ),
        autoencoder=autoencoder_targets(),
    output:
        html="reports/report.html",
        pdf="reports/report.pdf" if CFG["report"]["pdf"] else [],
        figures=report(
            directory("reports/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "results/logs/report.log",
    params:
        cfg=CFG,
    threads: res("report", "threads")
    resources:
        **slurm_resources("report"),
    script:
        "../scripts/report.py"
