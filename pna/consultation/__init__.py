"""The consultation on the draft: reading a survey tool's export and summarising it for the final PNA."""
