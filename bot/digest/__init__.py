"""The weekly digest: its content, charts, PDF bulletin, exports, and the live status board."""
