"""ROS-free pose engine: numpy / torch / trimesh only.

Frames and units: metres, radians, OpenCV optical camera frame (x right,
y down, z forward). ``T_a_b`` is the 4x4 transform taking points expressed
in frame ``b`` into frame ``a``.
"""
