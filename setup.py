"""Everything is configured in pyproject.toml; this file exists for one fix.

setuptools' editable_wheel installs the "data" category (our man pages and
completion files, [tool.setuptools.data-files]) only when the distribution has
a has_data() method, and setuptools' Distribution only has has_data_files():
without this, `pip install -e .` silently skips them while `pip install .`
installs them. tests/test_install.py checks both kinds of install.
"""

from setuptools import setup
from setuptools.dist import Distribution


class _Distribution(Distribution):
    def has_data(self) -> bool:
        return self.has_data_files()


setup(distclass=_Distribution)
