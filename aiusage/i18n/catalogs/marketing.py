"""The public face: landing page, pricing page, the 404 page, and their links from the footer
and the terms. Figures ({fee}, {markup}, prices) come from the configuration and the price
table, never from these texts."""

EN = {
    # --- landing ------------------------------------------------------------------------
    "home.eyebrow": "Gateway for the Anthropic and OpenAI APIs",
    "home.title": "One gateway for your AI model APIs",
    "home.lead": (
        "Put one base URL and one key into the tools you already use. aiusage forwards every "
        "request to Anthropic or OpenAI, meters its tokens and cost, and shows you where your "
        "money goes — without ever storing what you send."
    ),
    "home.cta_signup": "Create an account",
    "home.cta_pricing": "See pricing",
    "home.tools.h": "Works with the tools you already use",
    "home.tools.body": (
        "Anthropic tools take the base URL {anthropic_url}, OpenAI tools {openai_url}. Your "
        "aiusage key goes where the provider's key went; the “Connect your tools” page has "
        "every snippet ready to copy."
    ),
    "home.tool.claude_code": "Set ANTHROPIC_BASE_URL and your key, then work as before.",
    "home.tool.codex": "Add aiusage as a model provider in config.toml (Responses API).",
    "home.tool.cursor": "Override the OpenAI base URL and use Claude and GPT models.",
    "home.tool.anthropic_sdk": "Pass base_url and api_key to the Python or TypeScript client.",
    "home.tool.openai_sdk": "Chat Completions and Responses, streamed or not, Claude models too.",
    "home.tool.curl": "Plain HTTP with x-api-key or Authorization: Bearer.",
    "home.billing.h": "Two ways to pay",
    "home.billing.byok.h": "Your own provider key",
    "home.billing.byok.figure": "{fee} service fee",
    "home.billing.byok.body": (
        "Store your Anthropic or OpenAI key with us, encrypted. The provider bills you for the "
        "tokens as usual; we charge {fee} of that cost, from your prepaid credit."
    ),
    "home.billing.credit.h": "Prepaid credit",
    "home.billing.credit.figure": "List price + {markup}",
    "home.billing.credit.body": (
        "No provider account needed: top up with Stripe and pay the provider's list price plus "
        "{markup}. A request your credit cannot cover is refused before it is sent, so there "
        "are no surprise bills."
    ),
    "home.billing.link": "Every model's price per million tokens",
    "home.dashboard.h": "See where every cent goes",
    "home.dashboard.body": (
        "Spend per day and per model, every request with its tokens, cost and latency, your "
        "balance, keys and budgets — in English or Chinese."
    ),
    "home.dashboard.alt": "The aiusage dashboard: balance, spend per day and the latest requests",
    "home.privacy.h": "We meter requests, we never read them",
    "home.privacy.body": (
        "For each request we keep its time, model, token counts, cost, latency and sizes. "
        "Prompts and responses stream through and are never stored, not even in logs. Your "
        "provider keys are encrypted with AES-256-GCM; proxy keys are kept only as hashes."
    ),
    "home.privacy.link": "Read the privacy policy",
    "home.start.h": "Set up in minutes",
    "home.start.body": (
        "Create an account, add your provider key or some credit, create a proxy key and paste "
        "the snippet for your tool."
    ),
    # --- pricing ------------------------------------------------------------------------
    "pricing.title": "Pricing",
    "pricing.lead": (
        "You pay per request: its token counts times the model's prices below, plus our fee "
        "or markup. No subscription."
    ),
    "pricing.byok.h": "With your own provider key",
    "pricing.byok.body": (
        "The provider bills you for the tokens directly. We charge {fee} of the request's cost "
        "at the prices below, from your prepaid credit."
    ),
    "pricing.credit.h": "With prepaid credit",
    "pricing.credit.body": (
        "We serve the request with our provider account and charge its cost at the prices "
        "below plus {markup}, from your credit. Top up with Stripe."
    ),
    "pricing.example": (
        "Example: a request that costs {cost} at list price costs you {byok} with your own key "
        "(the provider bills you the {cost}), or {credit} from credit."
    ),
    "pricing.table.h": "Prices per million tokens",
    "pricing.table.note": (
        "The providers' list prices in US dollars per million tokens, before the fee or the "
        "markup. Cache writes cost the 5-minute or the 1-hour rate, as the request asks."
    ),
    "pricing.col.model": "Model",
    "pricing.col.input": "Input",
    "pricing.col.output": "Output",
    "pricing.col.cache_write_5m": "Cache write (5 min)",
    "pricing.col.cache_write_1h": "Cache write (1 h)",
    "pricing.col.cache_read": "Cache read",
    "pricing.long_tier": "prompts over {threshold} tokens",
    "pricing.long_note": (
        "Some models charge every token of a request at dearer rates once its prompt is over a "
        "threshold: those rates are in the indented rows."
    ),
    "pricing.tools": (
        "Server-side tools the provider runs for a request (web search and fetch, file "
        "search, code interpreter) cost the provider's fee per use, on top of the tokens."
    ),
    "pricing.empty": "No model of this provider is priced yet.",
    "pricing.unknown": (
        "A model that is not in the table yet is charged {input} input and {output} output per "
        "million tokens until we add it."
    ),
    "pricing.terms": "The terms of service say how credit, prices and payment work.",
    # --- 404 ----------------------------------------------------------------------------
    "notfound.title": "Page not found",
    "notfound.body": (
        "There is no page at this address. It may have moved, or the link may be mistyped."
    ),
    "notfound.home": "Go to the home page",
    "notfound.pricing": "See pricing",
    # --- links from the footer and the terms ---------------------------------------------
    "footer.pricing": "Pricing",
    "legal.pricing": (
        "The service fee is {fee} and the markup {markup}; every model's price is on the "
        "pricing page."
    ),
    "legal.pricing_link": "Pricing",
}

ZH = {
    # --- landing ------------------------------------------------------------------------
    "home.eyebrow": "Anthropic 与 OpenAI API 网关",
    "home.title": "一个网关，接入你的所有 AI 模型 API",
    "home.lead": (
        "在你常用的工具里填入一个 base URL 和一个密钥即可。aiusage 把每个请求转发给 Anthropic "
        "或 OpenAI，统计其 token 和费用，让你清楚每一分钱花在哪里——从不保存你发送的内容。"
    ),
    "home.cta_signup": "创建账户",
    "home.cta_pricing": "查看价格",
    "home.tools.h": "支持你正在使用的工具",
    "home.tools.body": (
        "Anthropic 工具使用 base URL {anthropic_url}，OpenAI 工具使用 {openai_url}。把原来填写"
        "提供商密钥的地方换成你的 aiusage 密钥；“接入你的工具”页面有可直接复制的配置片段。"
    ),
    "home.tool.claude_code": "设置 ANTHROPIC_BASE_URL 和你的密钥，照常使用。",
    "home.tool.codex": "在 config.toml 中把 aiusage 添加为模型提供商（Responses API）。",
    "home.tool.cursor": "覆盖 OpenAI base URL，即可使用 Claude 和 GPT 模型。",
    "home.tool.anthropic_sdk": "在 Python 或 TypeScript 客户端中传入 base_url 和 api_key。",
    "home.tool.openai_sdk": (
        "支持 Chat Completions 和 Responses，流式或非流式，也可调用 Claude 模型。"
    ),
    "home.tool.curl": "普通 HTTP 请求，使用 x-api-key 或 Authorization: Bearer。",
    "home.billing.h": "两种付费方式",
    "home.billing.byok.h": "使用你自己的提供商密钥",
    "home.billing.byok.figure": "{fee} 服务费",
    "home.billing.byok.body": (
        "把你的 Anthropic 或 OpenAI 密钥加密保存在我们这里。token 费用照常由提供商向你收取；"
        "我们从你的预付余额中收取该费用的 {fee}。"
    ),
    "home.billing.credit.h": "预付余额",
    "home.billing.credit.figure": "标价 + {markup}",
    "home.billing.credit.body": (
        "无需提供商账户：通过 Stripe 充值，按提供商标价加 {markup} 付费。余额不足以支付的请求"
        "会在发送前被拒绝，不会有意外账单。"
    ),
    "home.billing.link": "每个模型的每百万 token 价格",
    "home.dashboard.h": "每一分钱的去向，一目了然",
    "home.dashboard.body": (
        "按天、按模型查看花费，查看每个请求的 token、费用和延迟，以及你的余额、密钥和预算——"
        "中英文界面均可。"
    ),
    "home.dashboard.alt": "aiusage 控制台：余额、每日花费和最近的请求",
    "home.privacy.h": "我们统计请求，但从不读取内容",
    "home.privacy.body": (
        "对每个请求，我们只记录时间、模型、token 数量、费用、延迟和大小。提示词和响应只是流式"
        "转发，从不保存，日志中也没有。你的提供商密钥使用 AES-256-GCM 加密；代理密钥只保存"
        "哈希值。"
    ),
    "home.privacy.link": "阅读隐私政策",
    "home.start.h": "几分钟即可完成设置",
    "home.start.body": (
        "创建账户，添加你的提供商密钥或充值，创建一个代理密钥，再把对应工具的配置片段粘贴进去。"
    ),
    # --- pricing ------------------------------------------------------------------------
    "pricing.title": "价格",
    "pricing.lead": (
        "按请求付费：请求的 token 数量乘以下方的模型价格，再加上我们的服务费或加价。无需订阅。"
    ),
    "pricing.byok.h": "使用你自己的提供商密钥",
    "pricing.byok.body": (
        "token 费用由提供商直接向你收取。我们按下方价格计算请求的费用，并从你的预付余额中"
        "收取其中的 {fee}。"
    ),
    "pricing.credit.h": "使用预付余额",
    "pricing.credit.body": (
        "我们用自己的提供商账户处理请求，按下方价格计算费用并加收 {markup}，从你的余额中扣除。"
        "通过 Stripe 充值。"
    ),
    "pricing.example": (
        "举例：按标价计算费用为 {cost} 的请求，使用你自己的密钥时我们收取 {byok}（这 {cost} "
        "由提供商向你收取），使用余额时收取 {credit}。"
    ),
    "pricing.table.h": "每百万 token 价格",
    "pricing.table.note": (
        "提供商标价，单位为每百万 token 美元，不含服务费或加价。缓存写入按请求要求的缓存时长，"
        "以 5 分钟或 1 小时的价格计费。"
    ),
    "pricing.col.model": "模型",
    "pricing.col.input": "输入",
    "pricing.col.output": "输出",
    "pricing.col.cache_write_5m": "缓存写入（5 分钟）",
    "pricing.col.cache_write_1h": "缓存写入（1 小时）",
    "pricing.col.cache_read": "缓存读取",
    "pricing.long_tier": "提示超过 {threshold} token",
    "pricing.long_note": (
        "部分模型在提示超过一定长度后，请求的每个 token 都按更高价格计费：见缩进的行。"
    ),
    "pricing.tools": (
        "提供商为请求运行的服务端工具（网页搜索与抓取、文件搜索、代码解释器）按次收取提供商的"
        "费用，另计于 token 费用之外。"
    ),
    "pricing.empty": "该提供商暂无已定价的模型。",
    "pricing.unknown": (
        "价格表中尚未收录的模型，在我们添加之前按每百万 token 输入 {input}、输出 {output} 计费。"
    ),
    "pricing.terms": "余额、价格与支付的规则见服务条款。",
    # --- 404 ----------------------------------------------------------------------------
    "notfound.title": "找不到该页面",
    "notfound.body": "此地址没有页面。页面可能已被移动，或者链接有误。",
    "notfound.home": "返回首页",
    "notfound.pricing": "查看价格",
    # --- links from the footer and the terms ---------------------------------------------
    "footer.pricing": "价格",
    "legal.pricing": "服务费为 {fee}，加价为 {markup}；每个模型的价格见价格页面。",
    "legal.pricing_link": "价格",
}
