"""Services of 遂行状況報告 and 実績報告 with evidence, the line-by-line review, 差戻し and acceptance.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter."""

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {}
