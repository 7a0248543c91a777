"""The Streamlit dashboard: one navigation entry (app.py), a shared frame (filters, data source), short pages."""
