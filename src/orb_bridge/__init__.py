"""The AI orb as an aiortc media peer."""
