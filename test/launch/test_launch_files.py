"""The launch files declare the documented arguments, reference files that exist, and wire the camera to the node.

Two layers:

* static (runs everywhere, no ROS ``launch`` needed): each launch file is parsed with :mod:`ast`; the
  ``DeclareLaunchArgument`` names and defaults are compared with the "Launch arguments" table of
  docs/ros_interface.md, the package files it references must exist and be installed by CMakeLists.txt,
  and ``realsense.launch.py`` must pass only arguments that ``fpose.launch.py`` declares;
* loaded (where ROS 2 ``launch`` and ``launch_ros`` are importable, skipped otherwise): the files are loaded
  with ``launch`` itself, the declared defaults are resolved with a launch context, and the topics
  ``realsense.launch.py`` hands to ``fpose.launch.py`` are resolved; where ``realsense2_camera`` is installed,
  its ``rs_launch.py`` must declare the arguments passed to it.

The repository's ``launch/`` folder has no ``__init__.py``, so a bare ``import launch`` succeeds here (as a
namespace package) without the ROS package: the skips import a submodule of the real package instead.
"""

from __future__ import annotations

import ast
import os
import re
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import MagicMock

import pytest

from fpose_ros.ros.launch_environment import FASTDDS_PROFILE_VARIABLES

REPO = Path(__file__).resolve().parents[2]
LAUNCH_DIR = REPO / "launch"
DOC = REPO / "docs" / "ros_interface.md"
PACKAGE = "fpose_ros"
LAUNCH_FILES = ("fpose.launch.py", "realsense.launch.py")
CAMERA = "/camera/camera"
# What realsense.launch.py must hand to fpose.launch.py: the camera's colour, aligned depth and camera_info.
CAMERA_TOPICS = {
    "color_topic": f"{CAMERA}/color/image_raw",
    "depth_topic": f"{CAMERA}/aligned_depth_to_color/image_raw",
    "camera_info_topic": f"{CAMERA}/color/camera_info",
}
# rs_launch.py arguments realsense.launch.py relies on (realsense-ros 4.54 and later).
RS_ARGUMENTS = {"camera_namespace", "camera_name", "serial_no", "config_file", "align_depth.enable",
                "rgb_camera.color_profile", "depth_module.depth_profile"}
# A package file named in a string: config/..., launch/... or rviz/..., not part of a longer path.
FILE_MENTION = re.compile(r"(?<![\w/.-])(?:config|launch|rviz)/[\w./-]*\w")
NOT_DECLARED = "—"  # table cell: the argument does not exist in that launch file
REQUIRED = "(required)"  # table cell: declared with an empty default that the user must replace
# Defaults computed from the environment the launch runs in: the function and the value documented (with a display).
ENVIRONMENT_DEFAULTS = {"rviz_default": "true"}

LAUNCH_SKIP = "needs the ROS 2 'launch' and 'launch_ros' packages (a ROS 2 distro; on no registry reachable here)"


# --- the documentation -------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_arguments(markdown: str) -> dict[str, dict[str, str]]:
    """Read the "Launch arguments" table: ``{launch file: {argument: default}}``.

    The table's first column is the argument (in backticks); every other column whose header names a
    ``*.launch.py`` file gives that file's default: a backticked value, ``(required)`` for an empty default,
    or ``—`` when the file does not declare the argument. Defaults under ``config/`` are package-share paths.
    """
    lines = markdown.splitlines()
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"#+\s+Launch arguments\s*", line)]
    assert len(starts) == 1, f"{DOC.name} needs exactly one '## Launch arguments' heading, found {len(starts)}"
    table: list[str] = []
    for line in lines[starts[0] + 1:]:
        if line.startswith("|"):
            table.append(line)
        elif table or line.startswith("#"):
            break
    assert len(table) > 2, "the 'Launch arguments' section has no table"
    header = _cells(table[0])
    columns = {}
    for index, title in enumerate(header):
        named = re.search(r"[\w.-]+\.launch\.py", title)
        if named:
            columns[index] = named.group(0)
    assert columns, f"no column of the launch-argument table names a launch file: {header}"
    documented: dict[str, dict[str, str]] = {name: {} for name in columns.values()}
    for line in table[2:]:
        cells = _cells(line)
        argument = re.fullmatch(r"`([\w.]+)`", cells[0])
        assert argument, f"first cell of a launch-argument row is not a `name`: {line}"
        for index, launch_file in columns.items():
            cell = cells[index]
            if cell.startswith(NOT_DECLARED):
                continue
            if cell.startswith(REQUIRED):
                documented[launch_file][argument.group(1)] = ""
                continue
            value = re.match(r"`([^`]*)`", cell)
            assert value, f"default of {argument.group(1)} in {launch_file} is not `value`, {REQUIRED} or —: {cell}"
            documented[launch_file][argument.group(1)] = value.group(1)
    return documented


@pytest.fixture(scope="module")
def documented() -> dict[str, dict[str, str]]:
    return documented_arguments(DOC.read_text(encoding="utf-8"))


# --- static reading of a launch file -----------------------------------------------------------------------


@dataclass
class StaticLaunchFile:
    """What :mod:`ast` can tell about a launch file without running it."""

    tree: ast.Module
    # name -> default as documented: a string, or "config/x" for PathJoinSubstitution([FindPackageShare(PACKAGE),
    # "config", "x"]); None where the default is something else (a LaunchConfiguration, ...).
    arguments: dict[str, str | None]

    @classmethod
    def read(cls, path: Path) -> StaticLaunchFile:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return cls(tree=tree, arguments=_declared_arguments(tree))

    def package_files(self, package: str) -> set[str]:
        """Paths joined onto ``FindPackageShare(package)``, relative to the package's share directory."""
        paths = set()
        for node in ast.walk(self.tree):
            path = _share_path(node)
            if path is not None and path[0] == package:
                paths.add(path[1])
        return paths

    def literal(self, node: ast.expr) -> str | None:
        """A string literal or an f-string of module-level string constants, as a string; otherwise None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            constant = _module_constants(self.tree).get(node.id)
            return None if constant is None else self.literal(constant)
        if isinstance(node, ast.JoinedStr):
            parts = [self.literal(value.value if isinstance(value, ast.FormattedValue) else value)
                     for value in node.values]
            return None if None in parts else "".join(parts)
        return None

    def with_defaults(self, node: ast.expr, variables: dict[str, ast.expr]) -> str | None:
        """Like :meth:`literal`, also for a list of parts.

        Each part is a string, ``cfg[name]`` or a list variable of the function (``variables``); every
        ``cfg[name]`` is replaced by the argument's default.
        """
        if isinstance(node, ast.Starred):
            return self.with_defaults(node.value, variables)
        if isinstance(node, ast.Name) and node.id in variables:
            return self.with_defaults(variables[node.id], variables)
        if isinstance(node, ast.Subscript):
            return self.arguments.get(_string(node.slice))
        if isinstance(node, ast.List):
            parts = [self.with_defaults(part, variables) for part in node.elts]
            return None if None in parts else "".join(parts)
        return self.literal(node)

    def local_lists(self) -> dict[str, ast.expr]:
        """``name = [...]`` assignments anywhere in the file."""
        return {node.targets[0].id: node.value for node in ast.walk(self.tree)
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.List)}

    def mentioned_files(self) -> set[str]:
        """``config/...``, ``launch/...`` and ``rviz/...`` paths written in any string (docstrings included)."""
        return {match for node in ast.walk(self.tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
                for match in FILE_MENTION.findall(node.value)}

    def include_arguments(self, package: str, launch_file: str) -> dict[str, ast.expr]:
        """The ``launch_arguments`` dict literal of the ``IncludeLaunchDescription`` of ``package``'s file."""
        for node in ast.walk(self.tree):
            if not (_called(node, "IncludeLaunchDescription") and node.args):
                continue
            source = node.args[0]
            paths = [_share_path(sub) for sub in ast.walk(source)]
            if (package, f"launch/{launch_file}") not in paths:
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            arguments = keywords.get("launch_arguments")
            # launch_arguments={...}.items()
            assert (isinstance(arguments, ast.Call) and isinstance(arguments.func, ast.Attribute)
                    and isinstance(arguments.func.value, ast.Dict)), "launch_arguments is not a {...}.items() literal"
            return {_string(key): value for key, value in zip(arguments.func.value.keys, arguments.func.value.values,
                                                               strict=True)}
        raise AssertionError(f"no IncludeLaunchDescription of {package}'s launch/{launch_file}")


def _called(node: ast.AST, name: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == name) or (isinstance(func, ast.Attribute) and func.attr == name)


def _string(node: ast.expr | None) -> str:
    assert isinstance(node, ast.Constant) and isinstance(node.value, str), f"not a string literal: {ast.dump(node)}"
    return node.value


def _share_path(node: ast.AST) -> tuple[str, str] | None:
    """``PathJoinSubstitution([FindPackageShare("pkg"), "a", "b"])`` -> ``("pkg", "a/b")``; otherwise None."""
    if not (_called(node, "PathJoinSubstitution") and node.args and isinstance(node.args[0], ast.List | ast.Tuple)):
        return None
    first, *rest = node.args[0].elts
    if not (_called(first, "FindPackageShare") and first.args and rest):
        return None
    if not all(isinstance(part, ast.Constant) and isinstance(part.value, str) for part in [first.args[0], *rest]):
        return None
    return first.args[0].value, "/".join(part.value for part in rest)


def _describe(node: ast.expr, bindings: dict[str, ast.expr]) -> str | None:
    """The documented form of a default: a string literal, a package-share path, or None."""
    if isinstance(node, ast.Name) and node.id in bindings:
        return _describe(bindings[node.id], {})
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENVIRONMENT_DEFAULTS:
        return ENVIRONMENT_DEFAULTS[node.func.id]  # checked against the environment by the stubbed tests below
    path = _share_path(node)
    return path[1] if path is not None and path[0] == PACKAGE else None


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` assignments."""
    return {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def _comprehension_bindings(tree: ast.Module, call: ast.Call) -> list[dict[str, ast.expr]]:
    """For a call inside ``[... for a, b, c in TABLE]`` over a module-level tuple of tuples: one binding per row."""
    constants = _module_constants(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ListComp | ast.GeneratorExp) and call in ast.walk(node.elt)):
            continue
        (generator,) = node.generators
        assert isinstance(generator.iter, ast.Name) and generator.iter.id in constants, \
            "DeclareLaunchArgument comprehension does not iterate over a module-level table"
        assert isinstance(generator.target, ast.Tuple), "the table's rows are not unpacked into names"
        names = [_name(target) for target in generator.target.elts]
        rows = constants[generator.iter.id]
        assert isinstance(rows, ast.Tuple | ast.List), f"{generator.iter.id} is not a tuple or list literal"
        bindings = []
        for row in rows.elts:
            assert isinstance(row, ast.Tuple) and len(row.elts) == len(names), \
                f"row of {generator.iter.id} does not have {len(names)} fields"
            bindings.append(dict(zip(names, row.elts, strict=True)))
        return bindings
    return [{}]


def _name(node: ast.expr) -> str:
    assert isinstance(node, ast.Name), f"not a plain name: {ast.dump(node)}"
    return node.id


def _declared_arguments(tree: ast.Module) -> dict[str, str | None]:
    """Every ``DeclareLaunchArgument`` of the file: literal calls, and calls in a comprehension over a table."""
    declared: dict[str, str | None] = {}
    for call in ast.walk(tree):
        if not _called(call, "DeclareLaunchArgument"):
            continue
        keywords = {kw.arg: kw.value for kw in call.keywords}
        name_node = call.args[0] if call.args else keywords["name"]
        default_node = call.args[1] if len(call.args) > 1 else keywords.get("default_value")
        for bindings in _comprehension_bindings(tree, call):
            name = _describe(name_node, bindings)
            assert name is not None, f"argument name is not a string literal: {ast.dump(name_node)}"
            assert name not in declared, f"argument {name} declared twice"
            declared[name] = None if default_node is None else _describe(default_node, bindings)
    return declared


@pytest.fixture(scope="module", params=LAUNCH_FILES)
def launch_file(request: pytest.FixtureRequest) -> str:
    return request.param


# --- static tests ------------------------------------------------------------------------------------------


def test_doc_table_covers_both_launch_files(documented):
    assert set(documented) == set(LAUNCH_FILES)
    assert all(documented[name] for name in LAUNCH_FILES)


def test_defines_generate_launch_description(launch_file):
    tree = StaticLaunchFile.read(LAUNCH_DIR / launch_file).tree
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    entry = [function for function in functions if function.name == "generate_launch_description"]
    assert len(entry) == 1
    assert not entry[0].args.args, "generate_launch_description takes no arguments"


def test_declared_arguments_are_the_documented_ones(launch_file, documented):
    declared = StaticLaunchFile.read(LAUNCH_DIR / launch_file).arguments
    assert sorted(declared) == sorted(documented[launch_file])
    # Every default here is a string or a package file; another kind (a substitution) could not be compared.
    assert None not in declared.values(), f"defaults not readable statically: {declared}"
    assert declared == documented[launch_file]


def test_referenced_package_files_exist_and_are_installed(launch_file):
    static = StaticLaunchFile.read(LAUNCH_DIR / launch_file)
    referenced = static.package_files(PACKAGE) | static.mentioned_files()
    assert referenced, "a launch file of this package references at least its parameter or rviz file"
    missing = sorted(path for path in referenced if not (REPO / path).is_file())
    assert not missing, f"{launch_file} references files that are not in the repository: {missing}"
    # FindPackageShare resolves to the install space: the folder must be installed by CMakeLists.txt.
    installed = set()
    for match in re.finditer(r"install\(DIRECTORY\s+([^)]*?)\s+DESTINATION\s+share/\$\{PROJECT_NAME\}",
                             (REPO / "CMakeLists.txt").read_text(encoding="utf-8")):
        installed.update(match.group(1).split())
    not_installed = sorted(path for path in static.package_files(PACKAGE) if path.split("/")[0] not in installed)
    assert not not_installed, f"not installed to share/{PACKAGE} by CMakeLists.txt: {not_installed}"


def test_realsense_passes_only_arguments_fpose_declares():
    realsense = StaticLaunchFile.read(LAUNCH_DIR / "realsense.launch.py")
    fpose = StaticLaunchFile.read(LAUNCH_DIR / "fpose.launch.py")
    passed = realsense.include_arguments(PACKAGE, "fpose.launch.py")
    # An argument the included file does not declare is silently ignored by launch.
    assert set(passed) <= set(fpose.arguments)
    # Every argument both files declare is forwarded, so the user's value reaches the node.
    shared = (set(realsense.arguments) & set(fpose.arguments)) - {"fastdds_profile"}
    forwarded = {name for name, value in passed.items()
                 if (_called(value, "LaunchConfiguration") and _string(value.args[0]) == name)
                 or (isinstance(value, ast.Subscript) and _string(value.slice) == name)}  # cfg[name]
    assert shared <= forwarded
    # The node's inputs are the camera's colour, aligned depth and camera_info topics (default camera names).
    lists = realsense.local_lists()
    assert {name: realsense.with_defaults(passed[name], lists) for name in CAMERA_TOPICS} == CAMERA_TOPICS


def test_realsense_includes_the_camera_with_aligned_depth():
    realsense = StaticLaunchFile.read(LAUNCH_DIR / "realsense.launch.py")
    assert ("realsense2_camera", "launch/rs_launch.py") in {
        _share_path(node) for node in ast.walk(realsense.tree)}
    passed = realsense.include_arguments("realsense2_camera", "rs_launch.py")
    assert set(passed) == RS_ARGUMENTS
    assert _string(passed["align_depth.enable"]) == "true"
    camera_arguments = {"camera_namespace", "camera_name", "serial_no"}
    assert {name: _string(passed[name].slice) for name in camera_arguments} == {name: name for name in camera_arguments}
    assert realsense.arguments["color_profile"] == realsense.arguments["depth_profile"] == "640x480x30"


# --- executed with the launch API stubbed (runs everywhere): what the file decides from the environment ------

LAUNCH_MODULES = ("launch", "launch.actions", "launch.conditions", "launch.launch_description_sources",
                  "launch.substitutions", "launch_ros", "launch_ros.actions", "launch_ros.substitutions")


def _generate_with_stubs(launch_file: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, MagicMock]:
    """Run ``generate_launch_description()`` of ``launch_file`` with the launch API stubbed.

    Every ``launch`` / ``launch_ros`` name is a recording mock; the file runs in the current (monkeypatched)
    environment. Returns the action mocks by name.
    """
    stubs: dict[str, MagicMock] = {}
    for module in LAUNCH_MODULES:
        stub = MagicMock(name=module)
        monkeypatch.setitem(sys.modules, module, stub)
        stubs[module] = stub
    namespace = runpy.run_path(str(LAUNCH_DIR / launch_file))
    namespace["generate_launch_description"]()
    return {name: getattr(stubs["launch.actions"], name)
            for name in ("DeclareLaunchArgument", "LogInfo", "SetEnvironmentVariable")}


def _declared_default(stubs: dict[str, MagicMock], name: str) -> str:
    defaults = {call.args[0]: call.kwargs["default_value"] for call in stubs["DeclareLaunchArgument"].call_args_list}
    return defaults[name]


def _clear_display_and_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DISPLAY", "WAYLAND_DISPLAY", *FASTDDS_PROFILE_VARIABLES):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(("display", "expected"), [({}, "false"), ({"DISPLAY": ":0"}, "true"),
                                                   ({"WAYLAND_DISPLAY": "wayland-0"}, "true"),
                                                   ({"DISPLAY": ""}, "false")])
def test_realsense_rviz_defaults_to_false_without_a_display(monkeypatch, display, expected):
    _clear_display_and_profiles(monkeypatch)
    for variable, value in display.items():
        monkeypatch.setenv(variable, value)
    assert _declared_default(_generate_with_stubs("realsense.launch.py", monkeypatch), "rviz") == expected


@pytest.mark.parametrize("variable", FASTDDS_PROFILE_VARIABLES)
def test_a_users_fastdds_profile_is_kept(monkeypatch, launch_file, variable):
    _clear_display_and_profiles(monkeypatch)
    monkeypatch.setenv(variable, "/home/me/my_profile.xml")
    stubs = _generate_with_stubs(launch_file, monkeypatch)
    assert not stubs["SetEnvironmentVariable"].called
    (logged,) = stubs["LogInfo"].call_args_list
    assert f"{variable}=/home/me/my_profile.xml" in logged.kwargs["msg"]


@pytest.mark.parametrize(("distro", "variable"), [("jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE"),
                                                  ("humble", "FASTRTPS_DEFAULT_PROFILES_FILE"),
                                                  ("kilted", "FASTDDS_DEFAULT_PROFILES_FILE")])
def test_the_package_fastdds_profile_is_set_when_the_user_has_none(monkeypatch, launch_file, distro, variable):
    _clear_display_and_profiles(monkeypatch)
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "")  # set but empty: no profile
    monkeypatch.setenv("ROS_DISTRO", distro)
    stubs = _generate_with_stubs(launch_file, monkeypatch)
    (call,) = stubs["SetEnvironmentVariable"].call_args_list  # one name: the one this distro's Fast DDS reads
    assert call.args[0] == variable
    assert not stubs["LogInfo"].called


# --- loaded with ROS 2 launch (skipped where it is not installed) ------------------------------------------


@pytest.fixture
def ros_launch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The ``launch`` API, with this repository as the share directory of ``fpose_ros``.

    A throw-away ament prefix whose ``share/fpose_ros`` links to the repository is put first on
    ``AMENT_PREFIX_PATH``, so ``FindPackageShare("fpose_ros")`` resolves to the files under test (not to an
    installed copy); other packages (``realsense2_camera``) resolve as installed.
    """
    sources: ModuleType = pytest.importorskip("launch.launch_description_sources", reason=LAUNCH_SKIP)
    pytest.importorskip("launch_ros.substitutions", reason=LAUNCH_SKIP)
    import launch

    prefix = tmp_path / "prefix"
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / PACKAGE).touch()
    (prefix / "share" / PACKAGE).symlink_to(REPO, target_is_directory=True)
    prefixes = [str(prefix), os.environ.get("AMENT_PREFIX_PATH", "")]
    monkeypatch.setenv("AMENT_PREFIX_PATH", os.pathsep.join(filter(None, prefixes)))
    return {"launch": launch, "load": sources.get_launch_description_from_python_launch_file,
            "share": prefix / "share" / PACKAGE}


def _perform(launch: ModuleType, value: Any, configurations: dict[str, str] | None = None) -> str:
    """A string, a substitution or a list of them, resolved in a launch context holding ``configurations``."""
    context = launch.LaunchContext()
    context.launch_configurations.update(configurations or {})
    substitutions = launch.utilities.normalize_to_list_of_substitutions(value)
    return launch.utilities.perform_substitutions(context, substitutions)


def _top_level_arguments(ros_launch: dict[str, Any], launch_file: str) -> dict[str, Any]:
    description = ros_launch["load"](str(LAUNCH_DIR / launch_file))
    declare = ros_launch["launch"].actions.DeclareLaunchArgument
    # Only this file's own declarations: get_launch_arguments() would add those of included files.
    return {entity.name: entity for entity in description.entities if isinstance(entity, declare)}


def _includes(ros_launch: dict[str, Any], launch_file: str) -> dict[str, tuple[Any, Path, Any]]:
    """The file's ``IncludeLaunchDescription`` actions by included file name: action, resolved path, its contents.

    Includes from packages that are not installed (``realsense2_camera`` here) cannot be resolved and are left out.
    """
    launch = ros_launch["launch"]
    from ament_index_python.packages import PackageNotFoundError

    includes = {}
    for entity in ros_launch["load"](str(LAUNCH_DIR / launch_file)).entities:
        if not isinstance(entity, launch.actions.IncludeLaunchDescription):
            continue
        source = entity.launch_description_source
        try:
            loaded = source.get_launch_description(launch.LaunchContext())
        except PackageNotFoundError:
            continue
        includes[Path(source.location).name] = (entity, Path(source.location), loaded)
    return includes


@pytest.mark.launch
def test_loaded_arguments_and_defaults_are_the_documented_ones(ros_launch, launch_file, documented, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")  # the documented rviz default is the one with a display
    share = str(ros_launch["share"]) + "/"
    defaults = {}
    for name, argument in _top_level_arguments(ros_launch, launch_file).items():
        value = _perform(ros_launch["launch"], argument.default_value)
        defaults[name] = value.removeprefix(share)
        if value.startswith(share):
            assert Path(value).is_file(), f"default of {name} names a missing file: {value}"
    assert defaults == documented[launch_file]


@pytest.mark.launch
def test_loaded_realsense_feeds_the_camera_topics_to_the_node(ros_launch):
    include, location, _ = _includes(ros_launch, "realsense.launch.py")["fpose.launch.py"]
    assert location == ros_launch["share"] / "launch" / "fpose.launch.py"
    launch = ros_launch["launch"]
    passed = {_perform(launch, key): value for key, value in include.launch_arguments}
    camera_names = {"camera_namespace": "camera", "camera_name": "camera"}  # rs_launch.py's defaults
    assert {name: _perform(launch, passed[name], camera_names) for name in CAMERA_TOPICS} == CAMERA_TOPICS
    assert set(passed) <= set(_top_level_arguments(ros_launch, "fpose.launch.py"))


@pytest.mark.launch
def test_loaded_realsense_includes_realsense2_camera(ros_launch):
    ament_index = pytest.importorskip("ament_index_python.packages", reason=LAUNCH_SKIP)
    try:
        ament_index.get_package_share_directory("realsense2_camera")
    except ament_index.PackageNotFoundError:
        pytest.skip("realsense2_camera is not installed")
    include, location, camera = _includes(ros_launch, "realsense.launch.py")["rs_launch.py"]
    assert location.is_file() and location.parent.parent == Path(ament_index.get_package_share_directory(
        "realsense2_camera"))
    launch = ros_launch["launch"]
    passed = {_perform(launch, key): value for key, value in include.launch_arguments}
    assert _perform(launch, passed["align_depth.enable"]) == "true"
    # The camera's own launch file declares every argument passed to it (a renamed one would be ignored).
    camera_arguments = {argument.name for argument in camera.get_launch_arguments()}
    missing = sorted(set(passed) - camera_arguments)
    assert not missing, f"rs_launch.py of the installed realsense2_camera does not declare {missing}"
