"""The written protocol of every claim (docs/claims.md is its prose; a test keeps them together).

For each claim of the lectures: the statement, what is measured, the direction the claim predicts
(``a_better``: A errs less than B; ``a_not_better``: A is not better than B by more than
``margin``), the effect size the lecture implies (``delta``, the power of a primary comparison is
computed for it), the scope, the ONE primary comparison that decides the verdict and the secondary
comparisons that can only name exceptions. Units: "pp" is percentage points of error; the others
are the measure's own. The primary cells are at ``claims.primary_depth`` (3 in the profiles that
have it) without dropout, where the profiles train more seeds (``grid.primary_seeds``).
"""

from __future__ import annotations

from dataclasses import dataclass

from layerwise.analysis.verdicts import Direction

PP = "pp"


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    measure: str
    figure: str  # the report figure that shows it (anchor fig-{figure})
    direction: Direction
    delta: float  # the effect the lecture implies, in ``unit`` (for the power)
    primary: str
    secondary: str
    unit: str = PP
    margin: float = 0.0  # a_not_better: how much better A may be and still count as "not better"

    @property
    def theta0(self) -> float:
        return -self.margin if self.direction == "a_not_better" else 0.0


CLAIMS = (
    Claim("1", "Without pretraining, depth 3-4 is not better than depth 1-2",
          "test error, none at the deeper depth minus none at the shallower one",
          "error_vs_depth", "a_not_better", delta=0.5, margin=0.5,
          primary="none at the primary depth vs none at depth 1, no dropout, each data set",
          secondary="every other deep (3-4) vs shallow (1-2) pair, with and without dropout"),
    Claim("2", "Pretraining (ae, dae, rbm) beats random initialisation at equal depth",
          "test error, pretrained minus none", "error_vs_depth", "a_better", delta=1.0,
          primary="each of ae, dae, rbm vs none at the primary depth, no dropout, each data set",
          secondary="the same at every other depth, and with dropout"),
    Claim("3", "RBM and DAE pretraining are at least as good as AE pretraining",
          "test error, ae minus rbm or dae", "error_vs_depth", "a_not_better", delta=0.5,
          margin=0.5,
          primary="ae vs rbm and ae vs dae at the primary depth, no dropout, each data set",
          secondary="the same at every other depth, and with dropout"),
    Claim("4", "Pretraining acts as a regulariser: at the same training error, lower "
          "validation error than random init",
          "validation error of pretrained minus none, each at the first epoch where its "
          "training error reaches the lower of the two nets' best (matched training error)",
          "bias_variance", "a_better", delta=1.0,
          primary="each of ae, dae, rbm vs none at the primary depth, no dropout, each data set",
          secondary="the same at every other depth, and with dropout"),
    Claim("5", "Without pretraining, the gradient reaching the first layer vanishes with depth",
          "slope over depth of log10(gradient norm at layer 1 / at the output layer), first "
          "fine-tuning epochs, random-init nets without dropout", "gradient_norms", "a_better",
          delta=0.1, unit="log10/layer",
          primary="the slope over depth, per data set (units: seeds)",
          secondary="log10 ratio below 0 at each depth >= 2, per data set"),
    Claim("6", "A deep autoencoder pretrained with RBMs reconstructs better than PCA",
          "test squared error per image, pretrained deep autoencoder minus PCA (same code size)",
          "autoencoder_curves", "a_better", delta=2.0, unit="sq. error/image",
          primary="the largest code size (30 in the profiles)",
          secondary="the other code sizes (2)"),
    Claim("6b", "The same deep autoencoder without pretraining trains poorly",
          "test squared error per image, pretrained minus random-init deep autoencoder",
          "autoencoder_curves", "a_better", delta=2.0, unit="sq. error/image",
          primary="the largest code size (30 in the profiles)",
          secondary="the other code sizes (2)"),
    Claim("7", "Dropout lowers test error where the net overfits",
          "test error, dropout on minus off, where the nets without dropout overfit",
          "bias_variance", "a_better", delta=1.0,
          primary="none at the primary depth, dropout on vs off, each data set whose nets "
          "without dropout overfit (test - train error >= claims.overfit_gap)",
          secondary="every other depth and pretraining that overfits"),
)  # fmt: skip

BY_ID = {c.id: c for c in CLAIMS}
