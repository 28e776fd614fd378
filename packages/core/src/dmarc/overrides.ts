/**
 * Policy override reasons, as an aggregate report carries them: RFC 9990's PolicyOverrideType
 * (local_policy, mailing_list, other, policy_test_mode, trusted_forwarder) plus RFC 7489's
 * sampled_out and forwarded, which RFC 9990 dropped together with pct.
 */
export type PolicyOverrideType =
  'local_policy' | 'mailing_list' | 'other' | 'policy_test_mode' | 'trusted_forwarder' | 'sampled_out' | 'forwarded';

export interface PolicyOverride {
  readonly type: PolicyOverrideType;
  readonly comment: string;
}
