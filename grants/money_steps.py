"""Services of 額の確定 and its letter, 概算払 and 精算払, 返還命令, 加算金 and 延滞金, the payments list.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter."""

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {}
