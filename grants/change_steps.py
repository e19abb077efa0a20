"""Services of 変更承認申請, 軽微な変更, 中止・廃止 and their letters.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter."""

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {}
