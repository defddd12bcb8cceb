"""Page sources, site rendering (pandoc) and PDFs, all read from the results store."""
