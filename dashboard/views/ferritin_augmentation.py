"""Ferritin & augmentation: placeholder until the statistics engine lands (no numbers are shown)."""

import streamlit as st

from dashboard import frame, render

ctx = frame.current()
st.title("Ferritin & augmentation")
render.placeholder("risk of augmentation by serum ferritin band under dopaminergic therapy (Kaplan–Meier, Cox)", ctx)
