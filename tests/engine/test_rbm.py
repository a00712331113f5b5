"""RBM oracles against hand-computed NumPy on a tiny machine (3 visible, 2 hidden)."""

import itertools

import numpy as np
import torch

from layerwise.engine import rbm

W_NP = np.array([[0.5, -1.0], [0.25, 0.75], [-0.5, 0.1]])  # (n_v=3, n_h=2)
B_NP = np.array([0.1, -0.2, 0.3])  # visible bias
C_NP = np.array([-0.4, 0.2])  # hidden bias
V_NP = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # (B=2, 3)


def sigm(a):
    return 1.0 / (1.0 + np.exp(-a))


def t(a):  # NumPy -> (K=1, ...) float64 tensor
    return torch.tensor(a, dtype=torch.float64).unsqueeze(0)


def test_conditionals_match_numpy():
    ph = rbm.p_h_given_v(t(V_NP), t(W_NP), t(C_NP))[0].numpy()
    assert np.allclose(ph, sigm(V_NP @ W_NP + C_NP))
    h = np.array([[1.0, 0.0], [1.0, 1.0]])
    pv = rbm.p_v_given_h(t(h), t(W_NP), t(B_NP))[0].numpy()
    assert np.allclose(pv, sigm(h @ W_NP.T + B_NP))


def test_free_energy_is_minus_log_sum_over_hidden_configurations():
    fe = rbm.free_energy(t(V_NP), t(W_NP), t(B_NP), t(C_NP))[0].numpy()
    for v, f in zip(V_NP, fe, strict=True):
        energies = [
            -(v @ B_NP) - (h @ C_NP) - v @ W_NP @ h
            for h in map(np.array, itertools.product([0, 1], repeat=2))
        ]
        assert np.isclose(f, -np.log(np.sum(np.exp(-np.array(energies)))))


def test_sample_h_uses_the_injected_uniforms():
    u = np.array([[0.3, 0.9], [0.6, 0.1]])
    h = rbm.sample_h(t(V_NP), t(W_NP), t(C_NP), t(u))[0].numpy()
    assert np.array_equal(h, (u < sigm(V_NP @ W_NP + C_NP)).astype(float))


def test_cd1_statistics_match_hand_computation():
    u = np.array([[0.3, 0.9], [0.6, 0.1]])
    ph0 = sigm(V_NP @ W_NP + C_NP)
    h0 = (u < ph0).astype(float)
    pv1 = sigm(h0 @ W_NP.T + B_NP)  # probabilities, not samples, for the reconstruction
    ph1 = sigm(pv1 @ W_NP + C_NP)
    dW = (V_NP.T @ ph0 - pv1.T @ ph1) / 2
    got = rbm.cd_k_statistics(t(V_NP), t(W_NP), t(B_NP), t(C_NP), t(u).unsqueeze(0))
    assert np.allclose(got[0][0].numpy(), dW)
    assert np.allclose(got[1][0].numpy(), (V_NP - pv1).mean(0))
    assert np.allclose(got[2][0].numpy(), (ph0 - ph1).mean(0))
    assert np.isclose(got[3][0].item(), ((V_NP - pv1) ** 2).sum(1).mean())


def test_cd2_runs_two_gibbs_steps():
    u = np.array([[[0.3, 0.9], [0.6, 0.1]], [[0.8, 0.2], [0.4, 0.5]]])  # (k=2, B, n_h)
    h = (u[0] < sigm(V_NP @ W_NP + C_NP)).astype(float)
    v1 = sigm(h @ W_NP.T + B_NP)
    h1 = (u[1] < sigm(v1 @ W_NP + C_NP)).astype(float)
    v2 = sigm(h1 @ W_NP.T + B_NP)
    got = rbm.cd_k_statistics(t(V_NP), t(W_NP), t(B_NP), t(C_NP), torch.tensor(u).unsqueeze(1))
    assert np.allclose(got[1][0].numpy(), (V_NP - v2).mean(0))


def test_reconstruction_error_mean_field():
    err = rbm.reconstruction_error(t(V_NP), t(W_NP), t(B_NP), t(C_NP))[0].item()
    pv = sigm(sigm(V_NP @ W_NP + C_NP) @ W_NP.T + B_NP)
    assert np.isclose(err, ((V_NP - pv) ** 2).sum(1).mean())


def test_members_are_independent():
    W = torch.stack([t(W_NP)[0], -t(W_NP)[0]])
    ph = rbm.p_h_given_v(t(V_NP)[0], W, torch.zeros(2, 2, dtype=torch.float64))
    assert np.allclose(ph[1].numpy(), sigm(-V_NP @ W_NP))
