"""SO-101 joint names, limits, forward kinematics and damped-least-squares IK (via mujoco).

Joint order is the real arm's motor order (lerobot ``so101_follower`` ids 1-6). Angles are in
rad in the MJCF "new calibration" convention (zero = middle of each joint's range; all zeros =
arm stretched forward along +x). Positive ``shoulder_pan`` turns the arm clockwise seen from
above (towards -y); positive lift/elbow/wrist_flex pitch the gripper down. The IK
point is the ``tip`` site between the fingertip pads (see :mod:`sims.so101.assets`); its axes:
x = approach (out of the gripper along the jaws), z = jaw axis (fixed jaw -> moving jaw).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mujoco
import numpy as np

from sims.so101.assets import arm_xml, compile_model

JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
ARM_JOINTS = 5  # the first five joints move the tip; the sixth is the gripper
GRIPPER_CLOSED = -0.17453  # [rad] lower limit (jaws shut)
GRIPPER_OPEN = 0.9  # [rad] wide enough (~8 cm between pads) for a 3 cm cube
HOME_Q = np.array([0.0, -1.0, 0.7, 1.3, 0.0, GRIPPER_OPEN])  # tip ~(0.21, 0, 0.12) m, elbow up


@functools.cache
def arm_model() -> mujoco.MjModel:
    """The modified arm alone (no scene), compiled once."""
    return compile_model(arm_xml())


@functools.cache
def joint_limits() -> np.ndarray:
    """float64[6, 2] joint ranges [rad] in :data:`JOINT_NAMES` order."""
    model = arm_model()
    return np.array([model.jnt_range[model.joint(n).id] for n in JOINT_NAMES])


@dataclass
class IKResult:
    q: np.ndarray  # float64[6] joint vector [rad] (gripper copied from the seed)
    pos_error: float  # [m]
    pitch: float  # [rad] approach angle below the horizontal that was reached
    ok: bool  # position error under tolerance


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


class ArmKinematics:
    """FK/IK on an MjModel containing the SO-101 (the arm alone or a full scene).

    Uses its own ``MjData`` so it never disturbs a running simulation. The three pitch joints
    (shoulder_lift, elbow_flex, wrist_flex) have parallel axes, so the tip's approach angle below
    the horizontal is ``pitch = lift + elbow + wrist`` [rad]; IK ties the wrist to a requested
    pitch and solves position (and optionally jaw yaw) with the other joints.
    """

    def __init__(self, model: mujoco.MjModel | None = None, site: str = "tip"):
        self.model = model if model is not None else arm_model()
        self.data = mujoco.MjData(self.model)
        self.site_id = self.model.site(site).id
        self.qpos_adr = np.array([self.model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self.dof_adr = np.array([self.model.joint(n).dofadr[0] for n in JOINT_NAMES])
        self.limits = np.array([self.model.jnt_range[self.model.joint(n).id] for n in JOINT_NAMES])
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))

    def _set(self, q: np.ndarray) -> None:
        self.data.qpos[self.qpos_adr] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tip position float64[3] [m] and rotation float64[3, 3] for joints ``q`` float[6]."""
        self._set(np.asarray(q, dtype=np.float64))
        rot = self.data.site_xmat[self.site_id].reshape(3, 3).copy()
        return self.data.site_xpos[self.site_id].copy(), rot

    @staticmethod
    def jaw_yaw(rot: np.ndarray) -> float:
        """Heading [rad] of the jaw axis (rotation column z) projected on the table plane."""
        return float(np.arctan2(rot[1, 2], rot[0, 2]))

    def ik(
        self,
        target_pos: np.ndarray,
        q_init: np.ndarray,
        pitch: float | None = None,
        jaw_yaw: float | None = None,
        max_iters: int = 50,
        tol: float = 1e-3,
        damping: float = 1e-3,
    ) -> IKResult:
        """Damped-least-squares IK of the tip to ``target_pos`` [m] from ``q_init`` float[6].

        With ``pitch`` [rad] (pi/2 = pointing straight down) the wrist is tied to
        ``pitch - lift - elbow`` and pan/lift/elbow solve the position; with ``jaw_yaw`` [rad]
        the wrist roll also turns the jaw axis to that heading (modulo pi: both jaw orders grip).
        Without ``pitch`` the four pitch/pan joints solve position only (roll kept).
        Step: ``dq = J^T (J J^T + damping I)^-1 e``, clipped to 0.3 rad and to joint limits.
        """
        q = np.array(q_init, dtype=np.float64)
        target = np.asarray(target_pos, dtype=np.float64)
        lo, hi = self.limits[:, 0], self.limits[:, 1]
        pan, lift, elbow, wrist, roll = (int(a) for a in self.dof_adr[:ARM_JOINTS])
        err = np.full(3, np.inf)
        for _ in range(max_iters):
            if pitch is not None:
                q[3] = pitch - q[1] - q[2]
            self._set(q)
            err = target - self.data.site_xpos[self.site_id]
            rot = self.data.site_xmat[self.site_id].reshape(3, 3)
            yaw_err = 0.0
            if jaw_yaw is not None:
                yaw_err = _wrap(2 * (jaw_yaw - self.jaw_yaw(rot))) / 2  # modulo pi
            if np.linalg.norm(err) < tol and abs(yaw_err) < 0.02:
                break
            mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.site_id)
            jp, jr = self._jacp, self._jacr
            if pitch is None:
                idx = [0, 1, 2, 3]
                jac = jp[:, [pan, lift, elbow, wrist]]
                e = err
            else:
                idx = [0, 1, 2]
                jac = np.column_stack(
                    [jp[:, pan], jp[:, lift] - jp[:, wrist], jp[:, elbow] - jp[:, wrist]]
                )
                e = err
                if jaw_yaw is not None:
                    idx = [0, 1, 2, 4]
                    jac = np.column_stack([jac, jp[:, roll]])
                    yaw_row = [
                        jr[2, pan],
                        jr[2, lift] - jr[2, wrist],
                        jr[2, elbow] - jr[2, wrist],
                        jr[2, roll],
                    ]
                    jac = np.vstack([jac, 0.1 * np.asarray(yaw_row)])
                    e = np.concatenate([err, [0.1 * yaw_err]])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + damping * np.eye(len(e)), e)
            dq *= 1.0 / max(1.0, float(np.max(np.abs(dq))) / 0.3)
            q[idx] = np.clip(q[idx] + dq, lo[idx], hi[idx])
        if pitch is not None:
            q[3] = pitch - q[1] - q[2]
        ok = bool(np.linalg.norm(err) < 2 * tol and lo[3] <= q[3] <= hi[3])
        q = np.clip(q, lo, hi)
        reached = float(np.linalg.norm(target - self.fk(q)[0]))
        return IKResult(
            q=q, pos_error=reached, pitch=float(q[1] + q[2] + q[3]), ok=ok and reached < 2 * tol
        )

    def ik_steepest(
        self,
        target_pos: np.ndarray,
        q_init: np.ndarray,
        jaw_yaw: float | None = None,
        min_pitch: float = 0.2,
        start_pitch: float = np.pi / 2,
    ) -> IKResult:
        """IK with the steepest reachable approach: tries pitch from ``start_pitch`` down to
        ``min_pitch`` [rad] in 0.1 rad steps and returns the first solution that reaches the
        target (or the best one). Top-down is reachable only near the table (tip z < ~7 cm).
        """
        best: IKResult | None = None
        q = np.asarray(q_init, dtype=np.float64)
        for p in np.arange(start_pitch, min_pitch - 1e-9, -0.1):
            res = self.ik(target_pos, q, pitch=float(p), jaw_yaw=jaw_yaw)
            if res.ok:
                return res
            if best is None or res.pos_error < best.pos_error:
                best = res
        return best


@functools.cache
def _default_kinematics() -> ArmKinematics:
    return ArmKinematics()


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """Tip position float64[3] [m] (world = arm base frame) for joints ``q`` float[6] [rad]."""
    return _default_kinematics().fk(q)[0]


def inverse_kinematics(
    target_pos: np.ndarray, q_init: np.ndarray | None = None, jaw_yaw: float | None = None
) -> IKResult:
    """Steepest-approach IK of the tip to ``target_pos`` [m]; see ``ArmKinematics.ik_steepest``."""
    q0 = HOME_Q if q_init is None else q_init
    return _default_kinematics().ik_steepest(target_pos, q0, jaw_yaw)
