"""The weekly regional digest: its content, charts, PDF bulletin and exports."""
