"""Build of the optional C extension (everything else is in pyproject.toml).

``tracemem.parse._scan`` is the compiled line splitter of the strace fast path. It is optional:
where no C compiler is available the build skips it and tracemem uses its pure-Python path,
which gives the same results (the tests compare the two), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tracemem.parse._scan",
            ["tracemem/parse/_scan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
