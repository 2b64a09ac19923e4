/* replaced by the audit log implementation */
typedef int audit_placeholder_unused;
