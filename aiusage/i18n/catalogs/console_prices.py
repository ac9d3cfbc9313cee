"""The console's Prices page: the price table, its form and history, the unknown-models queue
and the list prices proposed by the genai-prices package."""

EN = {
    "prices.intro": (
        "Prices are in US dollars per million tokens (web search and fetch: per use), exact "
        "to the micro-dollar. A change applies to this server's proxy from the next request; "
        "standalone proxy workers and other app instances pick it up within 30 seconds."
    ),
    "prices.read_only": "Your role can read the prices; only an admin can change them.",
    "prices.queue.title": "Unknown models",
    "prices.queue.intro": (
        "Models billed at the default price in the last 90 days because the table does not "
        "list them. Price one and its next request is billed at that price."
    ),
    "prices.queue.empty": "No unknown models: every request was priced from the table.",
    "prices.queue.requests": "Requests",
    "prices.queue.last_seen": "Last seen",
    "prices.queue.price_it": "Price it",
    "prices.table.title": "Price table",
    "prices.table.units": (
        "USD per million tokens; the long-prompt column shows its threshold (prompt tokens) "
        "and its input / output prices."
    ),
    "prices.add": "Add a model",
    "prices.check": "Check list prices",
    "prices.edit": "Edit",
    "prices.history": "History",
    "prices.close": "Close",
    "prices.col.model": "Model",
    "prices.col.input": "Input",
    "prices.col.output": "Output",
    "prices.col.cache_write_5m": "Cache write 5 min",
    "prices.col.cache_write_1h": "Cache write 1 h",
    "prices.col.cache_read": "Cache read",
    "prices.col.max_output_tokens": "Max output",
    "prices.col.web_search": "Web search",
    "prices.col.web_fetch": "Web fetch",
    "prices.col.long": "Long prompt",
    "prices.col.source": "Source",
    "prices.col.actions": "Actions",
    "prices.source.none": "No source recorded",
    "prices.source.seed": "Seeded by migration",
    "prices.field.provider": "Provider",
    "prices.field.model": "Model",
    "prices.field.input": "Input",
    "prices.field.output": "Output",
    "prices.field.cache_write_5m": "Cache write (5 min)",
    "prices.field.cache_write_1h": "Cache write (1 h)",
    "prices.field.cache_read": "Cache read",
    "prices.field.long_threshold": "Over (prompt tokens)",
    "prices.field.long_input": "Long: input",
    "prices.field.long_output": "Long: output",
    "prices.field.long_cache_write_5m": "Long: cache write (5 min)",
    "prices.field.long_cache_write_1h": "Long: cache write (1 h)",
    "prices.field.long_cache_read": "Long: cache read",
    "prices.field.max_output_tokens": "Max output (tokens)",
    "prices.field.web_search": "Web search (USD each)",
    "prices.field.web_fetch": "Web fetch (USD each)",
    "prices.field.source": "Source",
    "prices.form.title_new": "Price a model",
    "prices.form.title_edit": "Edit prices",
    "prices.form.intro": (
        "USD per million tokens, up to 6 decimals. An empty cache price is the input price; "
        "an empty maximum or fee is the configured default."
    ),
    "prices.form.prefilled": (
        "Prefilled with the list price from the genai-prices package: check it against the "
        "provider's page before saving."
    ),
    "prices.form.not_listed": (
        "The genai-prices list has no price for this model: fill it in from the provider's page."
    ),
    "prices.form.long_title": "Long-prompt tier (optional)",
    "prices.form.long_hint": (
        "Every token of a request whose prompt is over the threshold is billed at these prices."
    ),
    "prices.form.max_output_hint": "What a request that names no maximum is held for.",
    "prices.form.fee_hint": "Per use, in USD.",
    "prices.form.source_hint": "Where the price comes from: the provider's pricing page, say.",
    "prices.form.applies": (
        "Saved prices bill the next request served here; other proxy processes follow within "
        "30 seconds. The change and its source go to the audit log."
    ),
    "prices.save": "Save prices",
    "prices.delete": "Remove from the table",
    "prices.delete_title": "Remove this model's prices?",
    "prices.delete_body": (
        "Its requests will be billed at the default price and listed as unknown until it is "
        "priced again."
    ),
    "prices.delete_confirm": "Remove",
    "prices.notice.saved": "Saved: the proxy bills the next request at the new price.",
    "prices.notice.deleted": "Removed from the table.",
    "prices.notice.accepted": "Accepted: the list prices are in the table.",
    "prices.history.title": "Price history",
    "prices.history.empty": "No change recorded since the table was seeded.",
    "prices.history.set": "Set",
    "prices.history.delete": "Removed",
    "prices.sync.title": "List prices",
    "prices.sync.intro": (
        "From the list bundled with the genai-prices package (nothing is fetched): the models "
        "the table lacks, and ours whose list price differs. Nothing changes until you accept."
    ),
    "prices.sync.none": "The table agrees with the list.",
    "prices.sync.kind.new": "New",
    "prices.sync.kind.changed": "Changed",
    "prices.sync.col.kind": "Kind",
    "prices.sync.col.changes": "Ours → list",
    "prices.sync.accept": "Accept",
    "prices.sync.accept_all": "Accept all",
    "prices.sync.accept_all_title": "Accept every proposal?",
    "prices.sync.accept_all_body": (
        "Every model listed above gets the list's prices, changes and new models alike"
    ),
    "prices.error.bad_usd": (
        "give US dollars from 0 to 1,000,000 with at most 6 decimals, like 3.75."
    ),
    "prices.error.bad_tokens": "give a whole number of tokens, more than zero.",
    "prices.error.missing": "this price is required.",
    "prices.error.long_incomplete": (
        "a long-prompt tier needs its threshold and at least its input and output prices."
    ),
    "prices.error.bad_provider": "choose anthropic or openai.",
    "prices.error.bad_model": "give the model's name, at most 100 printable characters.",
    "prices.error.bad_source": "at most 300 characters, on one line.",
    "prices.error.source_required": "say where the price comes from.",
    "prices.error.bad_price": "Prices must be from 0 to 1,000,000 with at most 6 decimals (USD).",
    "prices.error.unchanged": "Nothing changed: these are the prices already.",
    "prices.error.price_not_found": "The table has no such model (any more).",
    "prices.error.proposal_not_found": "That proposal is gone: check the list prices again.",
}

ZH = {
    "prices.intro": (
        "价格以美元/百万 token 计（网页搜索和抓取按次计），精确到百万分之一美元。"
        "修改从本服务器代理的下一个请求起生效；独立代理进程和其他应用实例在 30 秒内生效。"
    ),
    "prices.read_only": "你的角色可以查看价格；只有管理员可以修改。",
    "prices.queue.title": "未知模型",
    "prices.queue.intro": (
        "过去 90 天内因价格表未收录而按默认价格计费的模型。为其定价后，下一个请求即按该价格计费。"
    ),
    "prices.queue.empty": "没有未知模型：每个请求都按价格表计价。",
    "prices.queue.requests": "请求数",
    "prices.queue.last_seen": "最近一次",
    "prices.queue.price_it": "定价",
    "prices.table.title": "价格表",
    "prices.table.units": "美元/百万 token；长提示列显示其阈值（提示 token 数）及输入/输出价格。",
    "prices.add": "添加模型",
    "prices.check": "核对公开价格",
    "prices.edit": "编辑",
    "prices.history": "历史",
    "prices.close": "关闭",
    "prices.col.model": "模型",
    "prices.col.input": "输入",
    "prices.col.output": "输出",
    "prices.col.cache_write_5m": "缓存写入 5 分钟",
    "prices.col.cache_write_1h": "缓存写入 1 小时",
    "prices.col.cache_read": "缓存读取",
    "prices.col.max_output_tokens": "最大输出",
    "prices.col.web_search": "网页搜索",
    "prices.col.web_fetch": "网页抓取",
    "prices.col.long": "长提示",
    "prices.col.source": "来源",
    "prices.col.actions": "操作",
    "prices.source.none": "未记录来源",
    "prices.source.seed": "由迁移写入：",
    "prices.field.provider": "提供商",
    "prices.field.model": "模型",
    "prices.field.input": "输入",
    "prices.field.output": "输出",
    "prices.field.cache_write_5m": "缓存写入（5 分钟）",
    "prices.field.cache_write_1h": "缓存写入（1 小时）",
    "prices.field.cache_read": "缓存读取",
    "prices.field.long_threshold": "超过（提示 token 数）",
    "prices.field.long_input": "长提示：输入",
    "prices.field.long_output": "长提示：输出",
    "prices.field.long_cache_write_5m": "长提示：缓存写入（5 分钟）",
    "prices.field.long_cache_write_1h": "长提示：缓存写入（1 小时）",
    "prices.field.long_cache_read": "长提示：缓存读取",
    "prices.field.max_output_tokens": "最大输出（token）",
    "prices.field.web_search": "网页搜索（每次，美元）",
    "prices.field.web_fetch": "网页抓取（每次，美元）",
    "prices.field.source": "来源",
    "prices.form.title_new": "为模型定价",
    "prices.form.title_edit": "编辑价格",
    "prices.form.intro": (
        "美元/百万 token，最多 6 位小数。缓存价格留空即为输入价格；"
        "最大输出或费用留空即为配置的默认值。"
    ),
    "prices.form.prefilled": "已按 genai-prices 包中的公开价格预填：保存前请与提供商的价格页核对。",
    "prices.form.not_listed": "genai-prices 列表中没有该模型的价格：请按提供商的价格页填写。",
    "prices.form.long_title": "长提示档（可选）",
    "prices.form.long_hint": "提示超过阈值的请求，其所有 token 都按这些价格计费。",
    "prices.form.max_output_hint": "未指定最大输出的请求按此预留额度。",
    "prices.form.fee_hint": "按次计，美元。",
    "prices.form.source_hint": "价格的来源：例如提供商的价格页面。",
    "prices.form.applies": (
        "保存的价格用于本服务器处理的下一个请求；其他代理进程在 30 秒内跟进。"
        "修改及其来源记入审计日志。"
    ),
    "prices.save": "保存价格",
    "prices.delete": "从价格表移除",
    "prices.delete_title": "移除该模型的价格？",
    "prices.delete_body": "在重新定价之前，它的请求将按默认价格计费并列为未知模型。",
    "prices.delete_confirm": "移除",
    "prices.notice.saved": "已保存：代理将按新价格为下一个请求计费。",
    "prices.notice.deleted": "已从价格表移除。",
    "prices.notice.accepted": "已接受：公开价格已写入价格表。",
    "prices.history.title": "价格历史",
    "prices.history.empty": "自价格表初始化以来没有修改记录。",
    "prices.history.set": "设置",
    "prices.history.delete": "移除",
    "prices.sync.title": "公开价格",
    "prices.sync.intro": (
        "来自 genai-prices 包自带的价格列表（不联网获取）："
        "价格表缺少的模型，以及公开价格与我们不同的模型。"
        "在你接受之前不会有任何改动。"
    ),
    "prices.sync.none": "价格表与公开价格一致。",
    "prices.sync.kind.new": "新增",
    "prices.sync.kind.changed": "有变化",
    "prices.sync.col.kind": "类型",
    "prices.sync.col.changes": "我们的 → 公开价格",
    "prices.sync.accept": "接受",
    "prices.sync.accept_all": "全部接受",
    "prices.sync.accept_all_title": "接受全部建议？",
    "prices.sync.accept_all_body": "上面列出的每个模型都将采用公开价格，包括有变化的和新增的模型",
    "prices.error.bad_usd": "请填写 0 到 1,000,000 之间的美元金额，最多 6 位小数，例如 3.75。",
    "prices.error.bad_tokens": "请填写大于零的整数 token 数。",
    "prices.error.missing": "此价格为必填项。",
    "prices.error.long_incomplete": "长提示档需要阈值以及至少输入和输出价格。",
    "prices.error.bad_provider": "请选择 anthropic 或 openai。",
    "prices.error.bad_model": "请填写模型名称，最多 100 个可打印字符。",
    "prices.error.bad_source": "最多 300 个字符，且只能一行。",
    "prices.error.source_required": "请注明价格来源。",
    "prices.error.bad_price": "价格须在 0 到 1,000,000 美元之间，最多 6 位小数。",
    "prices.error.unchanged": "没有变化：价格已经是这些。",
    "prices.error.price_not_found": "价格表中没有（或已不再有）该模型。",
    "prices.error.proposal_not_found": "该建议已不存在：请重新核对公开价格。",
}
