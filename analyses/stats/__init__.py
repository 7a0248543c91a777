"""Statistical functions on aggregated data (counts per covariate pattern, risk sets per event time).

Nothing here touches an engine or Streamlit: inputs are small arrays or frames of sufficient statistics.
"""
