"""The regional digest: its content, its texts, exports, and the demo data it is shown with."""
