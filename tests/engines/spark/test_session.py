"""Missing Java or GraphFrames JAR: one clear error naming the fix, before Spark starts."""

from __future__ import annotations

import pytest

from ringscope.config import SparkConfig
from ringscope.engines.spark.jars import MAVEN_PACKAGE, default_jar
from ringscope.engines.spark.session import SparkUnavailable, graphframes_jar, java_executable


def test_missing_jar_names_make_install_and_maven(tmp_path):
    cfg = SparkConfig(graphframes_jar=str(tmp_path / "graphframes.jar"))
    with pytest.raises(SparkUnavailable) as err:
        graphframes_jar(cfg)
    assert "make install" in str(err.value)
    assert MAVEN_PACKAGE in str(err.value)


def test_maven_coordinates_replace_the_local_jar():
    assert graphframes_jar(SparkConfig(graphframes_package=MAVEN_PACKAGE)) is None


def test_installed_jar_is_found():
    # `make install` provisions it; the Spark tests depend on it
    assert graphframes_jar(SparkConfig()) == default_jar()


def test_missing_java_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match=r"Java 17.*JAVA_HOME"):
        java_executable()
