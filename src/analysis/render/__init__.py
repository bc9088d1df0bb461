"""Rendering: notebooks' context, charts, sentences, and the HTML, spreadsheet and PDF of each report."""
