"""Rigid transforms: Rodrigues' formula, cross-product matrices, rotating vectors."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from fpose_ros.core.transforms import rotate_vectors, skew, so3_exp


def test_so3_exp_matches_scipy_including_zero_and_tiny_angles():
    rotvecs = np.concatenate([np.random.default_rng(0).normal(size=(20, 3)), np.zeros((1, 3)),
                              [[1e-8, 0.0, 0.0], [0.0, 3e-4, 0.0], [np.pi, 0.0, 0.0]]])
    ours = so3_exp(torch.as_tensor(rotvecs, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-12)
    R32 = so3_exp(torch.as_tensor(rotvecs, dtype=torch.float32))
    assert R32.dtype == torch.float32
    np.testing.assert_allclose(R32.numpy(), Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-6)


def test_skew_is_the_cross_product_and_rotate_vectors_the_matrix_product():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    torch.testing.assert_close((skew(a) @ b[..., None])[..., 0], torch.linalg.cross(a, b))
    R = so3_exp(torch.randn(5, 3, generator=g))
    v = torch.randn(5, 7, 3, generator=g)
    torch.testing.assert_close(rotate_vectors(R, v), torch.einsum("bij,bnj->bni", R, v))
