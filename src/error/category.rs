//! [`Category`]: what a program should do about an error, and the one table that maps
//! the providers' error codes to it.

use std::fmt;

/// What a program should do about an [`Error`](crate::Error):
/// [`Error::category`](crate::Error::category).
///
/// Where [`ErrorKind`](crate::ErrorKind) says what happened (an error status, a
/// timeout, a broken stream), the category says what to do, the same way for both of
/// Model Studio's protocols and for any OpenAI-compatible GLM server: codes in either
/// spelling (`InvalidApiKey` or `invalid_api_key`, `Throttling.RateQuota` or
/// `limit_requests`) and Z.ai's numeric codes land in the same category. A code the
/// table does not know falls back on the HTTP status. The README's "Acting on errors"
/// lists every code with its source.
///
/// # Example
///
/// This example shows a handler that acts by category.
///
/// ```
/// use dashscope_glm::{Category, Error};
///
/// fn advise(err: &Error) -> &'static str {
///     match err.category() {
///         Category::Auth => "check DASHSCOPE_API_KEY",
///         Category::RateLimit => "wait and try again",
///         Category::Quota => "top up the account or raise the quota",
///         Category::ContextLength => "shorten the conversation",
///         Category::ContentFilter => "rephrase the request",
///         _ => "report the error",
///     }
/// }
///
/// let err = Error::from(dashscope_glm::ApiError::new(429, Some("limit_requests".into()), "Requests rate limit exceeded".into(), None));
/// assert_eq!(advise(&err), "wait and try again");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Category {
    /// The API key is missing, wrong or expired: fix the key.
    Auth,
    /// The key works but may not use this model or workspace (not activated, not
    /// purchased, access denied): grant access.
    Permission,
    /// The model or endpoint does not exist: fix the model name or the URL.
    NotFound,
    /// Too many requests or tokens for now: retry later (see
    /// [`Error::retry_after`](crate::Error::retry_after)).
    RateLimit,
    /// The account is in arrears or a quota (free tier, package, allocation) is used
    /// up: a person must act; retrying does not help.
    Quota,
    /// Input or output inspection refused the content: change the content.
    ContentFilter,
    /// The input (or the requested output) is too long for the model: shorten it.
    ContextLength,
    /// The request is wrong in another way (a bad parameter, a rule of the model, a
    /// bad setting of the client): fix the request.
    InvalidRequest,
    /// The server failed or is overloaded (5xx), or sent a response that could not be
    /// read: retry later.
    Server,
    /// The connection failed, timed out or broke off: retry, perhaps later.
    Network,
    /// The caller stopped the call.
    Cancelled,
    /// Anything else.
    Other,
}

impl Category {
    /// The category's short name, as the `chat` example's `--json` output prints it:
    /// `auth`, `permission`, `not_found`, `rate_limit`, `quota`, `content_filter`,
    /// `context_length`, `invalid_request`, `server`, `network`, `cancelled`, `other`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::NotFound => "not_found",
            Self::RateLimit => "rate_limit",
            Self::Quota => "quota",
            Self::ContentFilter => "content_filter",
            Self::ContextLength => "context_length",
            Self::InvalidRequest => "invalid_request",
            Self::Server => "server",
            Self::Network => "network",
            Self::Cancelled => "cancelled",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use Category::{
    Auth, ContentFilter, ContextLength, InvalidRequest, NotFound, Other, Permission, Quota,
    RateLimit, Server,
};

/// One documented error code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeRow {
    /// The code exactly as the provider spells it (case matters); numeric codes as
    /// their decimal text.
    pub(crate) code: &'static str,
    pub(crate) category: Category,
    /// The code covers several problems told apart by the message (see [`HINTS`]).
    pub(crate) by_message: bool,
}

const fn row(code: &'static str, category: Category) -> CodeRow {
    CodeRow {
        code,
        category,
        by_message: false,
    }
}

/// A code whose message can narrow it (see [`HINTS`]).
const fn general(code: &'static str, category: Category) -> CodeRow {
    CodeRow {
        code,
        category,
        by_message: true,
    }
}

/// The providers' documented error codes and their categories: Model Studio's in both
/// spellings (native, then OpenAI-compatible), then Z.ai's numeric codes, which an
/// OpenAI-compatible GLM server outside Model Studio sends. Codes for speech, image,
/// file and app services are left out, as are codes whose status already says the
/// same (`BadRequest.*`). The README's "Acting on errors" table is this table, with the
/// source of each row; a test checks that they agree.
///
/// Sources: Model Studio's error-code page, both protocols' spellings
/// (<https://help.aliyun.com/zh/model-studio/error-code>, in English
/// <https://www.alibabacloud.com/help/en/model-studio/error-code>); Z.ai's error codes
/// (<https://docs.z.ai/api-reference/api-code>); Zhipu BigModel's newer table for the
/// codes Z.ai's page lacks (<https://docs.bigmodel.cn/cn/faq/api-code>: 1005, 1261,
/// 1310-1321).
pub(crate) const CODES: &[CodeRow] = &[
    // Model Studio: key and access.
    row("InvalidApiKey", Auth),
    row("invalid_api_key", Auth),
    // 401, but about the workspace: the key is fine.
    row("NOT AUTHORIZED", Permission),
    row("AccessDenied", Permission),
    row("access_denied", Permission),
    row("AccessDenied.Unpurchased", Permission),
    row("Model.AccessDenied", Permission),
    row("Workspace.AccessDenied", Permission),
    row("App.AccessDenied", Permission),
    // 429, but no retry helps: the workspace has not subscribed.
    row("CommodityNotPurchased", Permission),
    row("ModelNotFound", NotFound),
    row("model_not_found", NotFound),
    row("model_not_supported", NotFound),
    row("WorkSpaceNotFound", NotFound),
    row("NotFound", NotFound),
    // Model Studio: rates. `Throttling.AllocationQuota` / `insufficient_quota` is the
    // tokens-per-minute limit (not money, unlike OpenAI's word), except with the message
    // "Free allocated quota exceeded."
    row("Throttling", RateLimit),
    row("Throttling.RateQuota", RateLimit),
    row("LimitRequests", RateLimit),
    row("limit_requests", RateLimit),
    row("Throttling.BurstRate", RateLimit),
    row("limit_burst_rate", RateLimit),
    general("Throttling.AllocationQuota", RateLimit),
    general("insufficient_quota", RateLimit),
    // Model Studio: arrears and quotas a person must settle.
    row("Arrearage", Quota),
    row("AllocationQuota.FreeTierOnly", Quota),
    row("PrepaidBillOverdue", Quota),
    row("PostpaidBillOverdue", Quota),
    // Model Studio: content inspection.
    row("DataInspectionFailed", ContentFilter),
    row("data_inspection_failed", ContentFilter),
    row("FaqRuleBlocked", ContentFilter),
    row("CustomRoleBlocked", ContentFilter),
    row("IPInfringementSuspect", ContentFilter),
    // Model Studio: parameters. A too long input is `InvalidParameter` with "Range of
    // input length should be [1, N]"; an unknown model, with "Model not exist."
    general("InvalidParameter", InvalidRequest),
    general("invalid_parameter_error", InvalidRequest),
    general("invalid_request_error", InvalidRequest),
    general("InternalError.Algo.InvalidParameter", InvalidRequest),
    row("InvalidParameter.NotSupportEnableThinking", InvalidRequest),
    // Named "unavailable", but a 400 for a bad role or empty content.
    row("ServiceUnavailableError", InvalidRequest),
    // Model Studio: the server.
    row("InternalError", Server),
    row("internal_error", Server),
    row("InternalError.Algo", Server),
    row("InternalError.Timeout", Server),
    row("SystemError", Server),
    row("ModelServiceFailed", Server),
    row("RequestTimeOut", Server),
    row("ModelServingError", Server),
    row("ModelUnavailable", Server),
    // Z.ai: authentication.
    row("1000", Auth),
    row("1001", Auth),
    row("1002", Auth),
    row("1003", Auth),
    row("1004", Auth),
    row("1005", Auth),
    // Z.ai: the account.
    row("1110", Permission),
    row("1111", Auth),
    row("1112", Permission),
    row("1113", Quota),
    row("1120", Server),
    row("1121", Permission),
    // Z.ai: the call.
    row("1200", Server),
    row("1210", InvalidRequest),
    row("1211", NotFound),
    row("1212", InvalidRequest),
    row("1213", InvalidRequest),
    row("1214", InvalidRequest),
    row("1215", InvalidRequest),
    row("1220", Permission),
    row("1221", NotFound),
    row("1222", NotFound),
    row("1230", Server),
    row("1231", InvalidRequest),
    row("1234", Server),
    row("1261", ContextLength),
    // Z.ai: policy, rates and plans.
    row("1301", ContentFilter),
    row("1302", RateLimit),
    row("1303", RateLimit),
    row("1304", Quota),
    // Z.ai's page says a rate limit, BigModel's newer one an overloaded model: both
    // say retry later.
    row("1305", RateLimit),
    row("1308", Quota),
    row("1309", Quota),
    row("1310", Quota),
    row("1311", Permission),
    row("1312", Server),
    // Fair-use restriction: lifted only when a person applies.
    row("1313", Permission),
    row("1314", Quota),
    // An API key of the wrong plan.
    row("1315", Auth),
    row("1316", Quota),
    row("1317", Quota),
    row("1318", Quota),
    row("1319", Quota),
    row("1320", Quota),
    row("1321", Quota),
];

/// Message texts that say which problem a general code (or an unknown one) means,
/// matched case-insensitively: Model Studio's and the OpenAI-compatible servers' words.
pub(crate) const HINTS: &[(&str, Category)] = &[
    // Model Studio: InvalidParameter, the input over the model's limit.
    ("range of input length", ContextLength),
    ("exceed model limit", ContextLength),
    // OpenAI-compatible servers (vLLM, SGLang) and Z.ai's 1261 in English.
    ("maximum context length", ContextLength),
    ("prompt exceeds max length", ContextLength),
    // Model Studio: InvalidParameter for an unknown model id.
    ("model not exist", NotFound),
    // Model Studio: Throttling.AllocationQuota when the free quota is gone.
    ("free allocated quota exceeded", Quota),
];

fn by_message(message: &str) -> Option<Category> {
    let lower = message.to_ascii_lowercase();
    HINTS
        .iter()
        .find(|(hint, _)| lower.contains(hint))
        .map(|&(_, category)| category)
}

/// The category of an error the server reported.
pub(crate) fn of_api(code: Option<&str>, status: Option<u16>, message: &str) -> Category {
    let known = code.and_then(|code| CODES.iter().find(|r| r.code == code));
    match known {
        Some(r) if !r.by_message => r.category,
        Some(r) => by_message(message).unwrap_or(r.category),
        None => by_message(message).unwrap_or_else(|| of_status(status)),
    }
}

/// The category an HTTP status stands for when no code says more.
pub(crate) fn of_status(status: Option<u16>) -> Category {
    match status {
        Some(401) => Auth,
        Some(402) => Quota,
        Some(403) => Permission,
        Some(404) => NotFound,
        Some(413) => ContextLength,
        Some(429) => RateLimit,
        Some(408) => Category::Network,
        Some(400..=499) => InvalidRequest,
        Some(500..=599) => Server,
        _ => Other,
    }
}

/// Whether a retry may fix an error of this category (when its status allows one):
/// not when a person must act or the request must change.
pub(crate) fn passes(category: Category) -> bool {
    !matches!(
        category,
        Auth | Permission | NotFound | Quota | ContentFilter | ContextLength
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_once() {
        for (i, a) in CODES.iter().enumerate() {
            assert!(
                CODES.iter().skip(i + 1).all(|b| b.code != a.code),
                "{} twice",
                a.code
            );
        }
    }

    #[test]
    fn general_codes_are_narrowed_by_their_message() {
        let cat = |code, status, message| of_api(Some(code), Some(status), message);
        assert_eq!(
            cat(
                "InvalidParameter",
                400,
                "Range of input length should be [1, 202745]"
            ),
            ContextLength
        );
        assert_eq!(
            cat(
                "InternalError.Algo.InvalidParameter",
                400,
                "Range of input length should be [1, 202745]"
            ),
            ContextLength
        );
        assert_eq!(cat("InvalidParameter", 400, "Model not exist."), NotFound);
        assert_eq!(
            cat(
                "InvalidParameter",
                400,
                "Range of max_tokens should be [1, 8192]"
            ),
            InvalidRequest
        );
        assert_eq!(
            cat(
                "Throttling.AllocationQuota",
                429,
                "Allocated quota exceeded, please increase your quota limit."
            ),
            RateLimit
        );
        assert_eq!(
            cat(
                "Throttling.AllocationQuota",
                429,
                "Free allocated quota exceeded."
            ),
            Quota
        );
        // A code that is not general keeps its category whatever the message says.
        assert_eq!(cat("Arrearage", 400, "maximum context length"), Quota);
        // An unknown code: the message, else the status.
        assert_eq!(
            of_api(
                Some("400"),
                Some(400),
                "This model's maximum context length is 8192 tokens"
            ),
            ContextLength
        );
        assert_eq!(of_api(Some("E42"), Some(503), "busy"), Server);
        assert_eq!(of_api(None, None, "something"), Other);
    }

    #[test]
    fn statuses_fall_back_by_class() {
        for (status, category) in [
            (400, InvalidRequest),
            (401, Auth),
            (402, Quota),
            (403, Permission),
            (404, NotFound),
            (408, Category::Network),
            (413, ContextLength),
            (422, InvalidRequest),
            (429, RateLimit),
            (500, Server),
            (529, Server),
        ] {
            assert_eq!(of_status(Some(status)), category, "{status}");
        }
        assert_eq!(of_status(Some(302)), Other);
        assert_eq!(of_status(None), Other);
    }

    /// The README's table is this table: every row, in order, with its category and the
    /// page that documents it.
    #[test]
    fn the_readme_lists_every_code() {
        const README: &str = include_str!("../../README.md");
        let rows = README
            .split("<!-- error-codes: checked against src/error/category.rs by its tests -->")
            .nth(1)
            .and_then(|rest| rest.split("<!-- /error-codes -->").next())
            .expect("the README has the error-code table");
        // Z.ai's newer codes are documented on BigModel's page only.
        let big_model = |code: &str| {
            code == "1005"
                || code == "1261"
                || code
                    .parse::<u32>()
                    .is_ok_and(|n| (1310..=1321).contains(&n))
        };
        let expected: Vec<String> = CODES
            .iter()
            .map(|r| {
                let source = if r.code.parse::<u32>().is_err() {
                    "[Model Studio][ms-codes]"
                } else if big_model(r.code) {
                    "[BigModel][bm-codes]"
                } else {
                    "[Z.ai][zai-codes]"
                };
                let narrowed = if r.by_message {
                    ", or by the message"
                } else {
                    ""
                };
                format!("| `{}` | `{}`{narrowed} | {source} |", r.code, r.category)
            })
            .collect();
        let found: Vec<&str> = rows.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(
            found,
            expected,
            "the README's table, as it should read:\n{}",
            expected.join("\n")
        );
        for (hint, _) in HINTS {
            assert!(
                README.to_ascii_lowercase().contains(&format!("`{hint}`")),
                "the README names the message hint {hint:?}"
            );
        }
    }
}
