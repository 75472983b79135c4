"""Guided troubleshooting: decision trees an agent or requester answers question by question."""
