//! The catalog: the built-in entries, each with its sources, and [`Catalog`], the set
//! of models a request is checked against, which a user extends and corrects.

use std::sync::{Arc, LazyLock};

use crate::chat::ReasoningEffort;
use crate::chat::model::Model;

/// The models a request is checked against, by name.
///
/// [`builtin`](Catalog::builtin) holds the crate's entries (the table below, with the
/// pages each comes from); [`ChatRequest::validate`](crate::chat::ChatRequest::validate)
/// checks against it. [`with`](Catalog::with) and [`insert`](Catalog::insert) add a
/// model the crate does not know, or replace an entry of the same name to correct it;
/// [`ChatRequest::validate_with`](crate::chat::ChatRequest::validate_with) checks
/// against the result. A name not in the catalog passes the model rules unchecked.
///
/// A `Catalog` is cheap to clone and to share between threads (`Clone + Send + Sync`):
/// clones share one list of entries, and changing a shared catalog copies the list
/// once, leaving the other clones as they were.
///
/// # Example
///
/// This example registers a fine-tune the crate does not know and corrects glm-5's
/// answer limit, then checks requests against the result.
///
/// ```
/// use dashscope_glm::chat::{Catalog, ChatRequest, Model, Rule};
///
/// let catalog = Catalog::builtin()
///     .with(Model::new("my-glm-ft").with_max_response(4_096))
///     .with(Model::lookup("glm-5").unwrap().clone().with_max_response(32_768));
///
/// let long = ChatRequest::new("my-glm-ft").user("hi").max_tokens(5_000);
/// assert!(long.validate().is_ok()); // unknown to the built-in catalog
/// assert_eq!(long.validate_with(&catalog).unwrap_err().rule(), Some(Rule::MaxTokensAboveLimit));
///
/// let glm5 = ChatRequest::new("glm-5").user("hi").max_tokens(20_000);
/// assert_eq!(glm5.validate().unwrap_err().rule(), Some(Rule::MaxTokensAboveLimit));
/// assert!(glm5.validate_with(&catalog).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    models: Arc<Vec<Model>>,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| Catalog {
    models: Arc::new(builtin_models()),
});

/// The built-in catalog, borrowed for the whole program.
pub(crate) fn builtin_ref() -> &'static Catalog {
    &BUILTIN
}

impl Catalog {
    /// The crate's entries: what Model Studio documents for its GLM models. Where two
    /// pages disagree the entry enforces only what both say, and where a fact is not
    /// documented the entry leaves it `None`, which refuses nothing.
    ///
    /// | name | limits (context / input / reasoning / answer) | rules | sources |
    /// | --- | --- | --- | --- |
    /// | `glm-5.3` | 1M / — / — / 128K (131,072 bounds `max_tokens`) | `max_tokens`; no web search, no partial mode; takes `reasoning_effort` (three levels; the card does not name them, so any passes) | [model card](https://help.aliyun.com/en/model-studio/glm-5-3) |
    /// | `glm-5.2` | 1M (Z.ai) / — / — / — | none (takes `reasoning_effort`, any level) | [GLM page](https://help.aliyun.com/en/model-studio/glm) (on Model Studio), [Z.ai README](https://raw.githubusercontent.com/zai-org/GLM-5/main/README.md) (1M); `reasoning_effort` from [Z.ai's table](https://docs.cloudsway.net/maasapi/api-reference/text/MaaS_GLM/) (a copy) |
    /// | `glm-5` | 202,752 / 202,752 (disputed: 169,984) / 32,768 / 16,384 | `max_tokens`, `thinking_budget`; no structured output with thinking; no forced tool with thinking; no web search, no partial mode | [GLM page](https://www.alibabacloud.com/help/en/model-studio/glm), [model card](https://help.aliyun.com/zh/model-studio/glm-9) |
    /// | `ZHIPU/GLM-5.3` | 1M / — / — / — | `reasoning_effort` levels `max` (default), `high`, `low` only | [GLM-ZHIPU page](https://www.alibabacloud.com/help/zh/model-studio/glm-zhipu) |
    /// | `ZHIPU/GLM-5` | 204,800 / 204,800 (disputed: 203,776) / 131,072 / 131,072 (65,536 by default) | `max_tokens`; `thinking_budget` refused (not supported) | [model card](https://help.aliyun.com/en/model-studio/glm-5-by-zhipu), [GLM-智谱 page](https://help.aliyun.com/zh/model-studio/glm-zhipu) |
    /// | `glm-4.7` | 202,752 / 169,984 / 32,768 / 16,384 | as glm-5 | [GLM page](https://www.alibabacloud.com/help/en/model-studio/glm) |
    /// | `glm-4.6` | 202,752 / 169,984 / 32,768 / 16,384 | as glm-4.7 | [GLM page](https://www.alibabacloud.com/help/en/model-studio/glm) |
    ///
    /// Disputed, and so not enforced (each beside its entry in the source as well):
    ///
    /// - glm-5's longest input: 202,752 on the [GLM page](https://www.alibabacloud.com/help/en/model-studio/glm)
    ///   (Mar 15, 2026), 169,984 on its [model card](https://help.aliyun.com/zh/model-studio/glm-9).
    ///   The entry keeps the larger (limits are upper bounds); no input limit is enforced.
    /// - glm-5's structured output: the model card says not supported at all, the GLM page
    ///   says only with thinking off. Both agree on "not with thinking", which is
    ///   enforced; structured output with thinking off is left to the server.
    /// - ZHIPU/GLM-5's longest input: 204,800 on its [model card](https://help.aliyun.com/en/model-studio/glm-5-by-zhipu),
    ///   203,776 on the [GLM-智谱 page](https://help.aliyun.com/zh/model-studio/glm-zhipu).
    /// - ZHIPU/GLM-5.3's region: Singapore only on the [international copies](https://www.alibabacloud.com/help/zh/model-studio/glm-zhipu),
    ///   China (Beijing) on [help.aliyun.com](https://help.aliyun.com/en/model-studio/glm-zhipu).
    ///   The catalog has no region rule.
    /// - glm-4.6 and glm-4.7 are being delisted: on Oct 10, 2026 says the [English GLM page](https://help.aliyun.com/en/model-studio/glm),
    ///   on July 9, 2026 says the [Portuguese copy](https://www.alibabacloud.com/help/pt-br/model-studio/glm);
    ///   their entries stay while the server answers them.
    ///
    /// No GLM model offers batch inference (the cards that say so: glm-5.3, glm-5,
    /// ZHIPU/GLM-5); the crate has no batch API. On thinking: glm-5, glm-4.7 and glm-4.6
    /// think by default (Z.ai's [thinking-mode page](https://docs.z.ai/guides/capabilities/thinking-mode);
    /// Model Studio does not say), and the request body says so explicitly; for the
    /// others the default is not documented and nothing is sent.
    ///
    /// # Example
    ///
    /// This example lists the built-in names.
    ///
    /// ```
    /// use dashscope_glm::chat::Catalog;
    ///
    /// let catalog = Catalog::builtin();
    /// let names: Vec<&str> = catalog.iter().map(|m| m.name.as_str()).collect();
    /// assert_eq!(
    ///     names,
    ///     ["glm-5.3", "glm-5.2", "glm-5", "ZHIPU/GLM-5.3", "ZHIPU/GLM-5", "glm-4.7", "glm-4.6"]
    /// );
    /// ```
    #[must_use]
    pub fn builtin() -> Self {
        builtin_ref().clone()
    }

    /// A catalog with no entries: every model passes the model rules unchecked.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            models: Arc::new(Vec::new()),
        }
    }

    /// The entry named `name` (exact, as the API spells it).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Adds `model`, replacing the entry of the same name in its place; returns the
    /// entry it replaced.
    pub fn insert(&mut self, model: Model) -> Option<Model> {
        let models = Arc::make_mut(&mut self.models);
        match models.iter_mut().find(|m| m.name == model.name) {
            Some(slot) => Some(std::mem::replace(slot, model)),
            None => {
                models.push(model);
                None
            }
        }
    }

    /// Adds `model` as [`insert`](Catalog::insert) does, for chaining.
    #[must_use]
    pub fn with(mut self, model: Model) -> Self {
        self.insert(model);
        self
    }

    /// Removes the entry named `name`, so that requests to it pass the model rules
    /// unchecked; returns it.
    pub fn remove(&mut self, name: &str) -> Option<Model> {
        let at = self.models.iter().position(|m| m.name == name)?;
        Some(Arc::make_mut(&mut self.models).remove(at))
    }

    /// The entries, built-in ones in the catalog's order, then added ones in the order
    /// added (a replaced entry keeps its place).
    pub fn iter(&self) -> std::slice::Iter<'_, Model> {
        self.models.iter()
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    pub(crate) fn as_slice(&self) -> &[Model] {
        &self.models
    }
}

/// The built-in catalog.
impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl<'a> IntoIterator for &'a Catalog {
    type Item = &'a Model;
    type IntoIter = std::slice::Iter<'a, Model>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The built-in entries. Each fact carries its page; a fact the pages do not give is
/// left unset (`None`), which refuses nothing. "1M" and "128K" are read as 1,048,576
/// and 131,072: limits are upper bounds, and the larger reading refuses nothing the
/// server may take.
fn builtin_models() -> Vec<Model> {
    const ONE_M: u32 = 1 << 20;
    const K128: u32 = 128 * 1024;
    // glm-4.7 and glm-4.6: one merged row of the GLM page (sources at glm-4.7 below).
    let glm_4x = |name: &str| {
        Model::new(name)
            .with_context(202_752)
            .with_max_input(169_984)
            .with_max_reasoning(32_768)
            .with_max_response(16_384)
            .with_default_thinking(true)
            .with_tools(true)
            .with_structured_output(true)
            .with_structured_output_with_thinking(false)
            .with_forced_tool_choice_with_thinking(false)
            .with_web_search(false)
            .with_partial_mode(false)
    };
    vec![
        // glm-5.3, served by Model Studio. Model card:
        // https://help.aliyun.com/en/model-studio/glm-5-3
        // "1M-token context window", "128K-token maximum output" (prose; the figures
        // table was not read). Function calling, structured outputs and context cache
        // supported; prefix completion, web search and batch unsupported. "Three
        // reasoning effort levels": the card does not name them or the parameter, so no
        // level list is enforced (third parties say low / high / max). Thinking default,
        // max input, max reasoning and thinking_budget: not on the card.
        Model::new("glm-5.3")
            .with_context(ONE_M)
            .with_max_response(K128)
            .with_tools(true)
            .with_structured_output(true)
            .with_context_cache(true)
            .with_partial_mode(false)
            .with_web_search(false)
            .with_reasoning_effort(true),
        // glm-5.2, served by Model Studio: the GLM page names it ("The Responses API
        // currently supports only glm-5.2 and glm-5.3",
        // https://help.aliyun.com/en/model-studio/glm); no model card was found. 1M
        // context from Z.ai's README (https://raw.githubusercontent.com/zai-org/GLM-5/main/README.md).
        // 128K output only from third parties (https://docs.anyfast.ai/guides/model-api/zhipu/glm-5.2.md),
        // so max_tokens is not bounded. reasoning_effort: Z.ai's parameter table, "GLM-5.2
        // and above", seen in a copy (https://docs.cloudsway.net/maasapi/api-reference/text/MaaS_GLM/);
        // its levels are not enforced.
        Model::new("glm-5.2")
            .with_context(ONE_M)
            .with_reasoning_effort(true),
        // glm-5, served by Model Studio. GLM page (Mar 15, 2026):
        // https://www.alibabacloud.com/help/en/model-studio/glm ; model card:
        // https://help.aliyun.com/zh/model-studio/glm-9
        // Max input DISPUTED: 202,752 (GLM page) vs 169,984 (card); the larger is kept
        // (not enforced: the crate counts no tokens).
        // Structured output DISPUTED: the card says not supported, the GLM page says
        // only with thinking off; only "not with thinking" (both agree) is enforced.
        // Function calling and context cache supported, prefix completion and batch not
        // (card). Web search and forced tool choice with thinking: carried over from the
        // crate's earlier entry (GLM page). Thinking on by default and temperature 1.0,
        // top_p 0.95: Z.ai's pages (https://docs.z.ai/guides/capabilities/thinking-mode,
        // https://docs.z.ai/guides/overview/migrate-to-glm-new); Model Studio does not
        // say, so the body sends enable_thinking explicitly.
        Model::new("glm-5")
            .with_context(202_752)
            .with_max_input(202_752)
            .with_max_reasoning(32_768)
            .with_max_response(16_384)
            .with_default_thinking(true)
            .with_tools(true)
            .with_structured_output_with_thinking(false)
            .with_forced_tool_choice_with_thinking(false)
            .with_web_search(false)
            .with_partial_mode(false)
            .with_context_cache(true)
            .with_sampling_defaults(1.0, 0.95),
        // ZHIPU/GLM-5.3, supplied by Z.AI. GLM-ZHIPU page, international copy (Sep 11,
        // 2026): https://www.alibabacloud.com/help/zh/model-studio/glm-zhipu
        // "reasoning_effort 控制思考深度,可选值:max(默认)、high、low": the levels are
        // listed, so another level is refused. "1M context". Region DISPUTED: Singapore
        // only there (and the es / ja / pt-br / id copies) vs China (Beijing) on
        // https://help.aliyun.com/en/model-studio/glm-zhipu ; no region rule exists.
        Model::new("ZHIPU/GLM-5.3")
            .with_context(ONE_M)
            .with_reasoning_effort_levels([
                ReasoningEffort::Max,
                ReasoningEffort::High,
                ReasoningEffort::Low,
            ])
            .with_default_reasoning_effort(ReasoningEffort::Max),
        // ZHIPU/GLM-5, supplied by Zhipu. Model card (2026-07-31):
        // https://help.aliyun.com/en/model-studio/glm-5-by-zhipu ; GLM-智谱 page:
        // https://help.aliyun.com/zh/model-studio/glm-zhipu
        // Context 204,800; max output 131,072, 65,536 by default ("默认65,536,可通过
        // max_tokens调整"); chain of thought 131,072. Max input DISPUTED: 204,800 (card)
        // vs 203,776 (GLM-智谱 table); the larger is kept, not enforced. "不支持通过
        // thinking_budget限制思考长度": thinking_budget refused. Function calling,
        // structured outputs, prefix completion and context cache supported; batch not.
        Model::new("ZHIPU/GLM-5")
            .with_context(204_800)
            .with_max_input(204_800)
            .with_max_reasoning(131_072)
            .with_max_response(131_072)
            .with_default_max_tokens(65_536)
            .with_tools(true)
            .with_structured_output(true)
            .with_partial_mode(true)
            .with_context_cache(true)
            .with_thinking_budget(false),
        // glm-4.7, served by Model Studio. GLM page (Feb 04 and Mar 15, 2026 copies):
        // https://www.alibabacloud.com/help/en/model-studio/glm
        // Being DELISTED: Oct 10, 2026 (https://help.aliyun.com/en/model-studio/glm) or
        // July 9, 2026 (https://www.alibabacloud.com/help/pt-br/model-studio/glm); the
        // entry stays while the server answers. Structured output only with thinking off,
        // tools, no web search, no partial mode, no forced tool with thinking: the GLM
        // page, as the crate's earlier entry read it. No model card was found, so the
        // context cache is not known. Defaults as glm-5 (Z.ai's pages).
        glm_4x("glm-4.7").with_sampling_defaults(1.0, 0.95),
        // glm-4.6: the GLM page's table row is glm-4.7's, merged, and it is being
        // delisted with it. Z.ai documents "hybrid" thinking by default for GLM-4.6; the
        // body sends enable_thinking: true explicitly, as for glm-4.7. Its sampling
        // defaults are not documented.
        glm_4x("glm-4.6"),
    ]
}

impl Model {
    /// The documented temperature and top_p defaults, for the entries above.
    fn with_sampling_defaults(mut self, temperature: f64, top_p: f64) -> Self {
        self.defaults.temperature = Some(temperature);
        self.defaults.top_p = Some(top_p);
        self
    }
}
