"""Adapter: the claims' verdicts (layerwise.analysis.claims.write_claims) from the rule's inputs."""

from pathlib import Path

from layerwise.analysis.claims import write_claims
from layerwise.joblog import job_logger

job_logger(snakemake.log[0])
write_claims(
    results_csv=Path(snakemake.input.results),
    history_csv=Path(snakemake.input.history),
    prediction_files=[Path(p) for p in snakemake.input.predictions],
    autoencoder_files=[Path(p) for p in snakemake.input.autoencoder],
    claims=snakemake.params.claims,
    baseline=snakemake.params.baseline,
    out_claims=Path(snakemake.output.claims),
    out_comparisons=Path(snakemake.output.comparisons),
)
