"""``python -m dmesh_dbt``: the same command line as the ``dmesh-dbt`` console script (where a virtualenv's bin/ is
not on PATH, or to pick the interpreter explicitly)."""

from dmesh_dbt._entry import main

if __name__ == "__main__":
    main()
