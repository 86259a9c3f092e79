"""Config files: partial overrides merge, mistakes are one clear ConfigError."""

from __future__ import annotations

import pytest

from ringscope.config import RunConfig
from ringscope.errors import ConfigError


def test_partial_layer_override_keeps_other_layers(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[coordination.layers.ip]\nweight = 0.3\n[communities]\nseed = 9\n")
    cfg = RunConfig.from_toml(path)
    assert cfg.coordination.layers["ip"].weight == 0.3
    assert (
        cfg.coordination.layers["ip"].window_ms == RunConfig().coordination.layers["ip"].window_ms
    )
    assert set(cfg.coordination.layers) == set(RunConfig().coordination.layers)
    assert cfg.communities.seed == 9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("max_reject_rate = 2\n", "max_reject_rate"),
        ("[communities]\nresolutoin = 1\n", "resolutoin"),
        ("[coordination.layers.fax]\nweight = 1\n", "unknown layers"),
        ("[scoring.weights]\nlabels = -1\n", "non-negative"),
        ("this is not toml", "not valid TOML"),
        ('[spark]\nconf = { "spark.executor.memory" = 2 }\n', "spark.conf"),
    ],
)
def test_bad_config_files_fail_clearly(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_toml(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        RunConfig.from_toml(tmp_path / "nope.toml")


def test_overrides_are_validated():
    assert RunConfig().with_overrides({"communities.seed": 5}).communities.seed == 5
    with pytest.raises(ConfigError, match="resolution"):
        RunConfig().with_overrides({"communities.resolution": -1})
