"""The declaration of each analysis (``analyses.spec.AnalysisSpec``), one module per analysis."""
