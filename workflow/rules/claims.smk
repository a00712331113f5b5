# Stage 5b: the lectures' claims judged by their written protocol (docs/claims.md;
# layerwise.analysis.claims): results/claims.csv (one row per claim) and
# results/claim_comparisons.csv (one row per comparison). The report and the tracking only read
# them. params: the `claims` slice and the random-init baseline the claims are judged against.


localrules:
    claims,


rule claims:
    input:
        results=L.RESULTS_CSV,
        history=L.HISTORY_CSV,
        predictions=[result(p, L.PREDICTIONS) for p in FINETUNE_JOBS],
        autoencoder=[
            f for study in STUDY_TARGETS if study["name"] == "deep_autoencoder"
            for f in study["report"]
        ],
    output:
        claims=L.CLAIMS_CSV,
        comparisons=L.CLAIM_COMPARISONS_CSV,
    log:
        "results/logs/claims.log",
    params:
        claims=CFG["claims"],
        baseline=CFG["pretrain"]["none"]["init"],
    script:
        "../scripts/claims.py"
