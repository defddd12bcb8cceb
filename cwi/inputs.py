"""The first stage's inputs: make sure the configured data source exists before ingest.

For the demo source the synthetic region is generated once into ``settings.demo_dir`` and
regenerated only when its parameters change (a stamp file records them). For the
real-geography source, synthetic children are placed on the real LSOAs of the reference data.
"""

from __future__ import annotations

import json
import shutil

from cwi.config import Settings

STAMP = ".cwi-demo.json"


def demo_parameters(settings: Settings) -> dict[str, object]:
    """The parameters that determine the demo files (a change triggers regeneration)."""
    demo = settings.demo
    params: dict[str, object] = {
        "source": settings.data_source,
        "seed": demo.seed,
        "n_las": demo.n_las,
        "years": list(demo.years),
    }
    if settings.data_source == "real-geography":
        params["region_code"] = settings.region_code
        params["real_la_list"] = settings.real_la_list
        params["imd_vintage"] = settings.imd_vintage
    return params


def ensure_demo_inputs(settings: Settings) -> bool:
    """Generate the demo inputs unless an up-to-date copy exists.

    Parameters
    ----------
    settings : Settings
        Gives ``demo_dir``, the data source and the demo parameters.

    Returns
    -------
    bool
        True when files were (re)generated.
    """
    out = settings.demo_dir
    params = demo_parameters(settings)
    stamp = out / STAMP
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == params:
        return False
    if out.exists():
        shutil.rmtree(out)
    if settings.data_source == "real-geography":
        from cwi.demo import generate_on_geography
        from cwi.reference import real_geography

        generate_on_geography(
            real_geography(settings), out, seed=int(params["seed"]), years=list(params["years"])
        )
    else:
        from cwi.demo import generate

        generate(
            out, seed=int(params["seed"]), n_las=int(params["n_las"]), years=list(params["years"])
        )
    stamp.write_text(json.dumps(params), encoding="utf-8")
    return True
