"""The one read model: every figure a surface shows (board, Today, insights, report, exports)."""
