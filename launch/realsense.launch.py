"""One command on a robot: Intel RealSense camera + fpose_node + rviz.

    ros2 launch fpose_ros realsense.launch.py mesh_file:=/path/object.ply mask_topic:=/segmenter/mask

Starts realsense2_camera's rs_launch.py with depth aligned to colour and 640x480 at 30 Hz for
both streams (topics under /CAMERA_NAMESPACE/CAMERA_NAME/..., /camera/camera/... by default),
fpose_node (namespace fpose) subscribed to the aligned depth, and rviz with config/fpose.rviz
(by default only where there is a display).

A D405 has no separate colour sensor: its colour stream belongs to the depth module, so its profile
is the parameter depth_module.color_profile (camera_config_file:=.../config/realsense_d405.yaml sets it)
and realsense-ros names its topic color/image_rect_raw (before librealsense 2.57; color_image:=image_rect_raw).
realsense-ros publishes 16UC1 depth in millimetres for every model (it converts the D405's finer units).
"""

import os

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, LogInfo, SetEnvironmentVariable
from launch.conditions import UnlessCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from fpose_ros.ros.launch_environment import fastdds_profile_variable, rviz_default, user_fastdds_profile
from launch import LaunchDescription

ARGUMENTS = (
    ("mesh_file", "", "Mesh of the object to track (.obj, .ply, .stl, .glb); required"),
    ("mesh_scale", "1.0", "Mesh units -> metres (0.001 for millimetres)"),
    ("object_frame", "object", "TF frame of the object"),
    ("namespace", "fpose", "Namespace of fpose_node and its topics"),
    ("mask_topic", "mask", "Object mask from your segmenter (relative names resolve in the namespace)"),
    ("camera_namespace", "camera", "Namespace of the RealSense node (rs_launch.py camera_namespace); not empty"),
    ("camera_name", "camera", "Name of the RealSense node (rs_launch.py camera_name); topics are "
     "/CAMERA_NAMESPACE/CAMERA_NAME/..."),
    ("serial_no", "''", "Serial number of the camera to open (rs_launch.py serial_no); '' = the first one found"),
    ("color_profile", "640x480x30", "RealSense colour profile WIDTHxHEIGHTxFPS (not a D405's: see camera_config_file)"),
    ("depth_profile", "640x480x30", "RealSense depth profile WIDTHxHEIGHTxFPS"),
    ("color_image", "image_raw", "Colour image topic under CAMERA/color/; image_rect_raw for a D405 with librealsense "
     "before 2.57 (its colour comes from the depth module)"),
    ("camera_config_file", "''", "Parameter file of the camera (rs_launch.py config_file), e.g. "
     "config/realsense_d405.yaml for a D405's colour profile; '' = none"),
    ("fastdds_profile", PathJoinSubstitution([FindPackageShare("fpose_ros"), "config", "fastdds_large_images.xml"]),
     "Fast DDS profile for large images, for the camera and the node; empty = keep the environment's. "
     "Not applied when FASTRTPS_DEFAULT_PROFILES_FILE or FASTDDS_DEFAULT_PROFILES_FILE is already set"),
    ("rviz", rviz_default(os.environ),
     "Start rviz with config/fpose.rviz (default: true where DISPLAY or WAYLAND_DISPLAY is set)"),
)


def generate_launch_description() -> LaunchDescription:
    args = [DeclareLaunchArgument(name, default_value=default, description=text)
            for name, default, text in ARGUMENTS]
    cfg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    camera_topics = ["/", cfg["camera_namespace"], "/", cfg["camera_name"]]  # as rs_launch.py names them
    # Set before the camera starts: the camera is the publisher whose shared-memory segment must fit the images.
    # One name, the one this distro's Fast DDS reads (fastdds_profile_variable): both load the profile twice.
    # A profile the user exported already (under either name) is theirs to keep: then nothing is set.
    users_profile = user_fastdds_profile(os.environ)
    fastdds = (LogInfo(msg=f"keeping the environment's Fast DDS profile {users_profile}") if users_profile else
               SetEnvironmentVariable(fastdds_profile_variable(os.environ), cfg["fastdds_profile"],
                                      condition=UnlessCondition(EqualsSubstitution(cfg["fastdds_profile"], ""))))
    camera = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(
            PathJoinSubstitution([FindPackageShare("realsense2_camera"), "launch", "rs_launch.py"])),
        launch_arguments={
            "camera_namespace": cfg["camera_namespace"],
            "camera_name": cfg["camera_name"],
            "serial_no": cfg["serial_no"],
            "config_file": cfg["camera_config_file"],
            # Depth registered to colour, as the node requires; a D405 too, whose depth and colour share an imager
            # but not necessarily a profile.
            "align_depth.enable": "true",
            "rgb_camera.color_profile": cfg["color_profile"],
            "depth_module.depth_profile": cfg["depth_profile"],
        }.items(),
    )
    fpose = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("fpose_ros"), "launch",
                                                            "fpose.launch.py"])),
        launch_arguments={
            "mesh_file": cfg["mesh_file"],
            "mesh_scale": cfg["mesh_scale"],
            "object_frame": cfg["object_frame"],
            "namespace": cfg["namespace"],
            "color_topic": [*camera_topics, "/color/", cfg["color_image"]],
            "depth_topic": [*camera_topics, "/aligned_depth_to_color/image_raw"],
            "camera_info_topic": [*camera_topics, "/color/camera_info"],
            "mask_topic": cfg["mask_topic"],
            "fastdds_profile": "",  # already set above for every process
            "rviz": cfg["rviz"],
        }.items(),
    )
    return LaunchDescription([*args, fastdds, camera, fpose])
