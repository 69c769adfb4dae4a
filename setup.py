"""The wheel's file layout; everything else about the package is in pyproject.toml.

The checkout keeps templates/, static/ and migrations/ at the top level (see the README's layout).
The wheel maps them into the package as dpa_tracker/templates, dpa_tracker/static and
dpa_tracker/migrations, which is where create_app() looks first when it runs from an installation.
"""

from setuptools import find_packages, setup

TOP_LEVEL = {
    "templates": ["**/*.html"],
    "static": ["**/*"],
    "migrations": ["env.py", "alembic.ini", "script.py.mako", "README", "versions/*.py"],
}

setup(
    packages=[*find_packages(include=["dpa_tracker", "dpa_tracker.*"]), *(f"dpa_tracker.{d}" for d in TOP_LEVEL)],
    package_dir={f"dpa_tracker.{d}": d for d in TOP_LEVEL},
    package_data={
        "dpa_tracker": ["workdays.yaml"],
        "dpa_tracker.catalogue": ["*.yaml"],
        "dpa_tracker.reports": ["fonts/*"],
        **{f"dpa_tracker.{d}": patterns for d, patterns in TOP_LEVEL.items()},
    },
    include_package_data=False,
)
