"""The public-data edition: every English upper-tier LA, every year, from published tables alone.

``data`` reads the public folder (geography by year, IMD in force, child populations, DfE
tables, Section 251), ``analysis`` computes the LA-year table and the between-LA models,
``verdicts`` words them, ``build`` runs it all and ``page`` draws the charts and writes the
"England, LA by LA" page and its downloads.
"""
