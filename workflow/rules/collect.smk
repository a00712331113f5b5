# Stage 4: model selection and the one tidy results table of the depth-table study.
# params: what the study trained with (the config less claims/report/tracking/resources), for provenance.


localrules:
    collect,


rule collect:
    input:
        members=[f"{d}/{L.MEMBERS}" for d in finetune_dirs()],
        records=[f"{d}/{L.RECORD}" for d in finetune_dirs()]
        + [result(p, L.RECORD) for p in PRETRAIN_JOBS],
    output:
        results=report(L.RESULTS_CSV, caption="../report/results.rst", category="Results"),
        history=L.HISTORY_CSV,
        provenance=L.PROVENANCE,
    log:
        "results/logs/collect.log",
    params:
        config=STUDY_CONFIG,
    script:
        "../scripts/collect.py"
