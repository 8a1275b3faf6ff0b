"""Launch fpose_node with config/fpose.yaml, and optionally rviz.

    ros2 launch fpose_ros fpose.launch.py mesh_file:=/path/object.ply
    ros2 launch fpose_ros fpose.launch.py mesh_file:=/path/object.ply \
        color_topic:=/camera/camera/color/image_raw \
        depth_topic:=/camera/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/camera/color/camera_info mask_topic:=/segmenter/mask rviz:=true
"""

import os

from launch.actions import DeclareLaunchArgument, LogInfo, SetEnvironmentVariable
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from fpose_ros.ros.launch_environment import fastdds_profile_variable, user_fastdds_profile
from launch import LaunchDescription

ARGUMENTS = (
    ("mesh_file", "", "Mesh of the object to track (.obj, .ply, .stl, .glb); required"),
    ("mesh_scale", "1.0", "Mesh units -> metres (0.001 for millimetres)"),
    ("object_frame", "object", "TF frame of the object"),
    ("namespace", "fpose", "Namespace of the node and its topics (config/fpose.rviz expects fpose)"),
    ("params_file", PathJoinSubstitution([FindPackageShare("fpose_ros"), "config", "fpose.yaml"]),
     "Parameter file"),
    ("color_topic", "color/image_raw", "Colour image (rgb8, bgr8, rgba8, bgra8)"),
    ("depth_topic", "depth/image_raw", "Depth registered to colour (16UC1 in depth_scale units, mm by default, "
     "or 32FC1 m)"),
    ("camera_info_topic", "color/camera_info", "camera_info of the colour image"),
    ("mask_topic", "mask", "Object mask (mono8) or label image (16UC1/32SC1 with mask_label)"),
    ("detections_2d_topic", "detections_2d", "A box detector's vision_msgs/Detection2DArray (the object's class: "
     "parameter class_id in params_file)"),
    ("fastdds_profile", PathJoinSubstitution([FindPackageShare("fpose_ros"), "config", "fastdds_large_images.xml"]),
     "Fast DDS profile with a shared-memory segment large enough for 640x480 images; empty = keep the environment's. "
     "Not applied when FASTRTPS_DEFAULT_PROFILES_FILE or FASTDDS_DEFAULT_PROFILES_FILE is already set"),
    ("rviz", "false", "Start rviz with config/fpose.rviz"),
    ("log_level", "info", "Log level of fpose_node"),
)


def generate_launch_description() -> LaunchDescription:
    args = [DeclareLaunchArgument(name, default_value=default, description=text)
            for name, default, text in ARGUMENTS]
    cfg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    node = Node(
        package="fpose_ros",
        executable="fpose_node",
        name="fpose_node",
        namespace=cfg["namespace"],
        output="screen",
        emulate_tty=True,
        parameters=[cfg["params_file"], {"mesh_file": cfg["mesh_file"], "mesh_scale": cfg["mesh_scale"],
                                         "object_frame": cfg["object_frame"]}],
        remappings=[
            ("color/image_raw", cfg["color_topic"]),
            ("depth/image_raw", cfg["depth_topic"]),
            ("color/camera_info", cfg["camera_info_topic"]),
            ("mask", cfg["mask_topic"]),
            ("detections_2d", cfg["detections_2d_topic"]),
        ],
        ros_arguments=["--log-level", cfg["log_level"]],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", PathJoinSubstitution([FindPackageShare("fpose_ros"), "config", "fpose.rviz"])],
        condition=IfCondition(cfg["rviz"]),
        output="log",
    )
    # The profile must reach every process of this launch that sends images (the publisher's
    # shared-memory segment decides whether a 921 KB image fits), so it is set before them.
    # One name, the one this distro's Fast DDS reads: FASTRTPS_ for Fast DDS 2 (Humble, Jazzy), FASTDDS_ for
    # 3.x (Kilted on; the old name warns there, and both names load the profile twice and log errors).
    # A profile the user exported already (under either name) is theirs to keep: then nothing is set.
    users_profile = user_fastdds_profile(os.environ)
    fastdds = (LogInfo(msg=f"keeping the environment's Fast DDS profile {users_profile}") if users_profile else
               SetEnvironmentVariable(fastdds_profile_variable(os.environ), cfg["fastdds_profile"],
                                      condition=UnlessCondition(EqualsSubstitution(cfg["fastdds_profile"], ""))))
    return LaunchDescription([*args, fastdds, node, rviz])
