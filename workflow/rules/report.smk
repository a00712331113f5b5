# Stage 6: the report -- tables, figures, HTML and PDF -- built from the files listed as inputs.
# params: the `report` slice and where the MLflow runs are (shown in the provenance).


rule report:
    input:
        results=L.RESULTS_CSV,
        history=L.HISTORY_CSV,
        provenance=L.PROVENANCE,
        cards=[result(L.DATA, "card.json", dataset=d) for d in DATASETS],
        baselines=baselines_files(),
        filters=[result(p, L.FILTERS) for p in PRETRAIN_JOBS],
        claims=L.CLAIMS_CSV,
        comparisons=L.CLAIM_COMPARISONS_CSV,
        studies=[f for study in STUDY_TARGETS for f in study["report"]],
    output:
        html=f"{L.REPORTS}/report.html",
        pdf=f"{L.REPORTS}/report.pdf" if CFG["report"]["pdf"] else [],
        figures=report(
            directory(f"{L.REPORTS}/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "results/logs/report.log",
    params:
        report=CFG["report"],
        tracking_uri=TRACKING_URI,
        studies={study["name"]: study["report"] for study in STUDY_TARGETS if study["report"]},
    threads: res("report", "threads")
    resources:
        **slurm_resources("report"),
    script:
        "../scripts/report.py"
