"""PII autodetection: find columns that hold PII but are not classified in their ``meta``.

``names`` (the name signal), ``values`` (validators), ``sampling`` (values from the warehouse), ``detect``
(evidence combined into suspects) and ``write`` (``--write``: the classification added to the column's YAML).
"""
