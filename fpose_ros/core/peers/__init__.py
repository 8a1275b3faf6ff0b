"""What a CPU user would use instead of fpose_ros, run on the same frames for comparison."""

from fpose_ros.core.peers.open3d_peer import Open3DPeer, Open3DPeerConfig

__all__ = ["Open3DPeer", "Open3DPeerConfig"]
