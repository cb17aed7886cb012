"""The WeasyPrint part: card frames and ledger covers from the Jinja2 templates, loading
only allowed files."""
