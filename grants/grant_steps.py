"""Services of 交付申請 (its filing, 差戻し, acceptance), 交付決定 and its letter, 辞退, 補欠 and 繰上げ採択.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter."""

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {}
