"""The privacy policy and the terms of service, written for this product.

Placeholders are filled from the configuration when the pages are built ({cookie},
{usage_days}, {grace_days}, {support_days}, {session_days}, {contact}, {effective}, {site},
...), so the published periods are the ones the purge applies."""

EN = {
    "legal.privacy.title": "Privacy policy",
    "legal.terms.title": "Terms of service",
    "legal.effective": "Effective {effective}",
    "legal.other_language": "中文版本",
    "legal.see_terms": "Terms of service",
    "legal.see_privacy": "Privacy policy",
    # --- privacy ------------------------------------------------------------------------
    "privacy.intro": (
        "aiusage ({site}) is a gateway for AI model APIs: you send requests to our proxy, we "
        "forward them to the model provider, meter them and charge them against your credit. "
        "This policy says what we collect to do that, what we never store, who processes data "
        "for us, how long we keep it and how you exercise your rights. The operator of this "
        "aiusage site is the controller of your data; contact: {contact}."
    ),
    "privacy.collect.h": "1. What we collect",
    "privacy.collect.account": (
        "Account: your email address, a hash of your password (argon2; never the password "
        "itself), whether and when your address was confirmed, your language, your settings "
        "(low-balance alert threshold, marketing-email choice) and, if you sign in with "
        "Google, Google's identifier for your account and its email address."
    ),
    "privacy.collect.keys": (
        "Keys: your proxy keys only as a SHA-256 hash with a short visible prefix; the "
        "provider keys you store (Anthropic, OpenAI) encrypted with AES-256-GCM under a "
        "master key, bound to your account and the provider. Only their last four characters "
        "are ever shown again."
    ),
    "privacy.collect.usage": (
        "Usage metadata, one record per request through the proxy: time, proxy key, "
        "provider, endpoint, model, token counts (input, output, cache writes and reads), "
        "cost and amount charged, status and error type, latency and time to first byte, "
        "request and response sizes in bytes, whether it was streamed, your IP address as a "
        "keyed hash (HMAC-SHA-256 with a server secret), the client's user agent and, when "
        "Claude Code sends one, its session id. Hourly totals of these feed your charts."
    ),
    "privacy.collect.billing": (
        "Billing: a ledger of every change of your balance (top-ups, usage charges, refunds, "
        "adjustments), your Stripe customer id, the brand and last four digits of the card "
        "you saved, and your top-up and alert settings."
    ),
    "privacy.collect.sessions": (
        "Sign-in sessions: the hash of the session token, when the session started, when it "
        "was last used (to within a few minutes) and when it expires, your browser's user "
        "agent and a keyed hash of your IP address. If you turn on two-factor sign-in: its "
        "secret, encrypted with AES-256-GCM, and hashes of your backup codes."
    ),
    "privacy.collect.support": (
        "Support: the messages you send with the contact form, with your email address, and "
        "your conversations with the onsite assistant (your questions and its answers, with "
        "your account when you are signed in, or the address you give when you hand one to "
        "support). "
        "Emails we send you: a log of recipient, subject, time and delivery status; the text "
        "(which may hold a sign-in or reset link) is deleted as soon as the email is sent."
    ),
    "privacy.never.h": "2. What we never store",
    "privacy.never.content": (
        "The content of your requests and responses (prompts, completions, files, tool "
        "calls): the proxy streams them through and writes none of it anywhere, logs "
        "included."
    ),
    "privacy.never.keys": (
        "Your provider keys in readable form: a key is decrypted in memory only to forward a "
        "request and is never written or logged."
    ),
    "privacy.never.cards": "Card numbers: payment details are entered at and kept by Stripe.",
    "privacy.never.ip": "Your IP address in readable form: only its keyed hash.",
    "privacy.cookies.h": "3. Cookies and local storage",
    "privacy.cookies.session": (
        "We set one cookie to keep you signed in, {cookie}: HttpOnly, SameSite=Lax and "
        "Secure when the site is served over HTTPS. It holds a random token (we keep only "
        "its hash). It is strictly necessary, so it needs no consent, and it lasts "
        "{session_days} days or until you sign out. Only while you sign in with Google, a "
        "second strictly necessary cookie, {flow_cookie}, keeps the sign-in's one-time state "
        "for at most {flow_minutes} minutes and is deleted when you come back. With two-factor "
        "sign-in on, between your password and your code a strictly necessary cookie, "
        "{two_factor_cookie}, holds a random token (we keep only its hash) for at most "
        "{two_factor_minutes} minutes, and {two_factor_next_cookie} the page of this site to "
        "return to afterwards. After a refused log-in, {login_email_cookie} keeps the email "
        "address you typed for at most {login_email_minutes} minutes so that you need not "
        "type it again (never the password); a successful log-in deletes it."
    ),
    "privacy.cookies.local": (
        "Your language and your answer to the cookie banner are kept in your browser's local "
        "storage, not in cookies, and are not sent to us except the language you choose while "
        "signed in, which we store on your account."
    ),
    "privacy.cookies.analytics": (
        "Analytics: if the operator has set up Google Tag Manager, it is loaded only after "
        "you accept it in the cookie banner, and never when your browser sends Do Not Track. "
        "Until then no analytics script is requested and no other cookie is set. Use "
        "\u201cCookie settings\u201d at the bottom of any page to change your answer."
    ),
    "privacy.purposes.h": "4. Why we use it",
    "privacy.purposes.body": (
        "To provide the service you signed up for (forward, meter and bill your requests, "
        "show your usage, send account emails); to keep it secure (rate limits, fraud and "
        "abuse prevention); to keep accounting records we are required to keep; for "
        "analytics only with your consent; and for product news only unless you opt out. We "
        "do not sell personal data and do not use it for advertising profiles."
    ),
    "privacy.processors.h": "5. Who processes data for us",
    "privacy.processors.stripe": (
        "Stripe (payments): your email address, Stripe customer id and the amounts of your "
        "top-ups; Stripe collects the card details itself."
    ),
    "privacy.processors.providers": (
        "The model providers, Anthropic and OpenAI: they receive the requests you send "
        "through the proxy, content included, with your own key or ours. Their own terms and "
        "privacy policies apply to what they do with them. The onsite assistant's questions "
        "go to one of them with our key, with excerpts of our public documentation."
    ),
    "privacy.processors.email": (
        "Our email delivery provider: your email address and the emails we send you."
    ),
    "privacy.processors.host": (
        "Our hosting provider: the servers and the database that run aiusage and hold the "
        "data described here."
    ),
    "privacy.processors.google": (
        "Google: if you use \u201cSign in with Google\u201d (your Google identity), and Google "
        "Tag Manager only if you accept analytics."
    ),
    "privacy.retention.h": "6. How long we keep it",
    "privacy.retention.usage": (
        "Usage metadata and its hourly totals: {usage_days} days (about {usage_months} "
        "months), then deleted by a purge that runs every day."
    ),
    "privacy.retention.accounts": (
        "When you delete your account, sign-in, your proxy keys and your provider keys stop "
        "working at once (provider keys are destroyed). The rest of your personal data is "
        "purged {grace_days} days later. The ledger of balance changes is kept, without your "
        "email address or any other personal data, as accounting records."
    ),
    "privacy.retention.support": (
        "Support messages and conversations with the onsite assistant: {support_days} days "
        "(about {support_months} months). The log of "
        "emails we sent you: as long as the shorter of that and the usage period; an email's "
        "text is deleted once it is sent (or, unsent, once its links have expired)."
    ),
    "privacy.retention.sessions": (
        "Sign-in sessions: until you sign out or they expire after {session_days} days."
    ),
    "privacy.rights.h": "7. Your rights and how to use them",
    "privacy.rights.access": (
        "Access and portability: in Settings, \u201cDownload my data\u201d gives you a zip of "
        "JSON and CSV files with your account, your keys' metadata (never a secret), usage, "
        "ledger, support messages and the replies to them, and your conversations with the "
        "onsite assistant."
    ),
    "privacy.rights.rectify": (
        "Correction: change your email address (confirmed at the new address), password and "
        "language in Settings."
    ),
    "privacy.rights.erase": (
        "Erasure: in Settings, \u201cDelete account\u201d, confirmed by typing your email address."
    ),
    "privacy.rights.object": (
        "Objection and consent: opt out of marketing emails in Settings; decline or withdraw "
        "analytics with \u201cCookie settings\u201d."
    ),
    "privacy.rights.contact": (
        "For anything else, or if you cannot sign in, write to {contact}. You may also "
        "complain to your data-protection authority."
    ),
    "privacy.security.h": "8. Security",
    "privacy.security.body": (
        "Passwords, session tokens, backup codes and proxy keys are stored only as hashes; "
        "provider keys and two-factor secrets are encrypted with AES-256-GCM; IP addresses are "
        "stored only as keyed hashes; forms are protected against cross-site requests and "
        "sign-in attempts and codes are rate limited. Two-factor sign-in is available to "
        "every account."
    ),
    "privacy.changes.h": "9. Changes and contact",
    "privacy.changes.body": (
        "We publish changes here with a new effective date and tell you by email of "
        "important ones. Questions about this policy: {contact}."
    ),
    # --- terms --------------------------------------------------------------------------
    "terms.intro": (
        "These terms apply to your use of aiusage ({site}): the website, the dashboard and "
        "the API proxy. By creating an account you accept them."
    ),
    "terms.service.h": "1. The service",
    "terms.service.body": (
        "aiusage forwards the requests you send to the proxy to the model provider (Anthropic "
        "or OpenAI), meters their tokens, cost and timing, charges them against your prepaid "
        "credit and shows you your usage. We do not store the content of requests or "
        "responses."
    ),
    "terms.account.h": "2. Your account and keys",
    "terms.account.body": (
        "Give a real email address and keep your password and proxy keys secret: requests "
        "made with your keys are charged to you. Revoke a key in the dashboard as soon as you "
        "think it leaked. We recommend turning on two-factor sign-in in Settings and "
        "checking the list of your signed-in sessions there; sign out any you do not know."
    ),
    "terms.providers.h": "3. Model providers",
    "terms.providers.body": (
        "Requests are processed by the model providers under their own terms and usage "
        "policies, which you must follow. With your own provider key you are also bound by "
        "your agreement with that provider."
    ),
    "terms.money.h": "4. Credit, prices and payment",
    "terms.money.body": (
        "Credit is prepaid in US dollars through Stripe. Each request costs its token counts "
        "times the model's prices; with your own key we charge a service fee on that cost, "
        "with our key the cost plus a markup. A request that does not fit your credit is "
        "refused before it is forwarded. Refunds and payment disputes are debited from the "
        "balance. Ask {contact} about a refund of unused credit."
    ),
    "terms.use.h": "5. Acceptable use",
    "terms.use.body": (
        "Do not use the service for anything unlawful, to harm others, to get around its "
        "limits or the providers' policies, to resell access to your keys, or to attack or "
        "overload it."
    ),
    "terms.availability.h": "6. Availability and liability",
    "terms.availability.body": (
        "The service is provided as is. Providers and networks fail at times; we do not "
        "guarantee it will always be available or error-free. To the extent the law allows, "
        "our liability is limited to the amount you paid us in the twelve months before the "
        "claim."
    ),
    "terms.end.h": "7. Ending",
    "terms.end.body": (
        "You can delete your account at any time in Settings. We may suspend or close "
        "accounts that break these terms. What happens to your data is described in the "
        "privacy policy."
    ),
    "terms.changes.h": "8. Changes and contact",
    "terms.changes.body": (
        "We publish changes here with a new effective date and tell you by email of "
        "important ones. Contact: {contact}."
    ),
}

ZH = {
    "legal.privacy.title": "隐私政策",
    "legal.terms.title": "服务条款",
    "legal.effective": "生效日期：{effective}",
    "legal.other_language": "English version",
    "legal.see_terms": "服务条款",
    "legal.see_privacy": "隐私政策",
    # --- privacy ------------------------------------------------------------------------
    "privacy.intro": (
        "aiusage（{site}）是 AI 模型 API 的网关：你把请求发送到我们的代理，我们将其转发给模型"
        "提供商，统计用量并从你的余额中扣费。本政策说明我们为此收集哪些数据、哪些数据我们从不"
        "保存、谁代表我们处理数据、数据保存多久，以及你如何行使自己的权利。本 aiusage 站点的"
        "运营者是你的数据的控制者；联系方式：{contact}。"
    ),
    "privacy.collect.h": "1. 我们收集哪些数据",
    "privacy.collect.account": (
        "账户：你的邮箱地址、密码的哈希值（argon2，从不保存密码本身）、邮箱是否以及何时确认、"
        "你的语言、你的设置（余额不足提醒阈值、营销邮件选择），以及如果你使用 Google 登录，"
        "Google 为你的账户提供的标识符及其邮箱地址。"
    ),
    "privacy.collect.keys": (
        "密钥：你的代理密钥只以 SHA-256 哈希值加上一段简短的可见前缀保存；你保存的提供商密钥"
        "（Anthropic、OpenAI）使用主密钥以 AES-256-GCM 加密，并与你的账户和提供商绑定。"
        "之后只会再显示其最后四个字符。"
    ),
    "privacy.collect.usage": (
        "用量元数据，每个经过代理的请求一条记录：时间、代理密钥、提供商、接口、模型、token 数量"
        "（输入、输出、缓存写入与读取）、费用与实际扣费、状态与错误类型、延迟与首字节时间、"
        "请求与响应的字节数、是否为流式、以带密钥哈希（使用服务器密钥的 HMAC-SHA-256）形式保存的"
        " IP 地址、客户端的 User-Agent，以及 Claude Code 发送时的会话 ID。这些数据的按小时汇总"
        "用于你的图表。"
    ),
    "privacy.collect.billing": (
        "账单：你余额每一次变动的账目（充值、用量扣费、退款、调整）、你的 Stripe 客户 ID、"
        "你保存的银行卡的品牌和末四位，以及你的充值与提醒设置。"
    ),
    "privacy.collect.sessions": (
        "登录会话：会话令牌的哈希值、会话开始的时间、最近使用的时间（精确到几分钟内）与到期的时间、"
        "浏览器的 User-Agent，以及 IP 地址的带密钥哈希。如果你开启两步验证登录："
        "其密钥（使用 AES-256-GCM 加密）以及备用码的哈希值。"
    ),
    "privacy.collect.support": (
        "客服：你通过联系表单发送的消息及你的邮箱地址，以及你与网站助手的对话（你的问题和它的回答；"
        "登录时关联你的账户，转交客服时关联你留下的邮箱地址）。我们发给你的邮件：只保留收件人、主题、"
        "时间和投递状态的记录；邮件正文（可能含有登录或重置链接）在邮件发出后立即删除。"
    ),
    "privacy.never.h": "2. 我们从不保存的数据",
    "privacy.never.content": (
        "你的请求和响应的内容（提示词、生成结果、文件、工具调用）：代理只是将其流式转发，"
        "不会写入任何地方，日志也不例外。"
    ),
    "privacy.never.keys": (
        "可读形式的提供商密钥：密钥只在转发请求时在内存中解密，从不写入或记录到日志。"
    ),
    "privacy.never.cards": "银行卡号：支付信息在 Stripe 输入并由 Stripe 保存。",
    "privacy.never.ip": "可读形式的 IP 地址：只保存其带密钥的哈希值。",
    "privacy.cookies.h": "3. Cookie 与本地存储",
    "privacy.cookies.session": (
        "我们设置一个用于保持登录的 Cookie：{cookie}。它带有 HttpOnly、SameSite=Lax 属性，"
        "在网站通过 HTTPS 提供时还带有 Secure 属性。它保存一个随机令牌"
        "（我们只保存其哈希值）。它是严格必要的，因此无需同意；"
        "有效期为 {session_days} 天，或直到你退出登录。"
        "仅在你使用 Google 登录的过程中，会另外设置一个严格必要的 Cookie：{flow_cookie}，"
        "用于保存此次登录的一次性状态，最长保留 {flow_minutes} 分钟，返回本站后即被删除。"
        "开启两步验证登录后，在你输入密码与输入验证码之间，一个严格必要的 Cookie："
        "{two_factor_cookie}，会保存一个随机令牌（我们只保存其哈希值），最长 "
        "{two_factor_minutes} 分钟；{two_factor_next_cookie} 保存验证之后要返回的本站页面。"
        "登录被拒绝后，{login_email_cookie} 会保存你输入的邮箱地址（从不保存密码），"
        "最长 {login_email_minutes} 分钟，免得你重新输入；登录成功后即被删除。"
    ),
    "privacy.cookies.local": (
        "你的语言和你对 Cookie 提示的选择保存在浏览器的本地存储（localStorage）中，而不是 "
        "Cookie 中，也不会发送给我们；唯一的例外是你登录时选择的语言，我们会将其保存在你的"
        "账户上。"
    ),
    "privacy.cookies.analytics": (
        "分析：如果运营者配置了 Google Tag Manager，它只会在你于 Cookie 提示中同意后加载，并且在"
        "你的浏览器发送“请勿跟踪”（Do Not Track）时绝不加载。在此之前，不会请求任何分析脚本，"
        "也不会设置其他 Cookie。你可以随时点击任意页面底部的“Cookie 设置”更改你的选择。"
    ),
    "privacy.purposes.h": "4. 我们为何使用这些数据",
    "privacy.purposes.body": (
        "为了提供你所注册的服务（转发、计量并结算你的请求，展示你的用量，发送账户邮件）；为了"
        "保障安全（频率限制、防止欺诈和滥用）；为了保存我们依法必须保存的会计记录；仅在你同意"
        "后用于分析；仅在你未退订时发送产品资讯。我们不出售个人数据，也不将其用于广告画像。"
    ),
    "privacy.processors.h": "5. 谁代表我们处理数据",
    "privacy.processors.stripe": (
        "Stripe（支付）：你的邮箱地址、Stripe 客户 ID 及充值金额；银行卡信息由 Stripe 直接收集。"
    ),
    "privacy.processors.providers": (
        "模型提供商 Anthropic 和 OpenAI：它们会收到你通过代理发送的请求（包括内容），使用你自己"
        "的密钥或我们的密钥。它们如何处理这些请求受其自身的条款和隐私政策约束。网站助手的问题会"
        "连同我们公开文档的摘录，使用我们的密钥发送给其中一家。"
    ),
    "privacy.processors.email": "我们的邮件发送服务商：你的邮箱地址以及我们发给你的邮件。",
    "privacy.processors.host": (
        "我们的托管服务商：运行 aiusage 并保存本政策所述数据的服务器和数据库。"
    ),
    "privacy.processors.google": (
        "Google：如果你使用“使用 Google 登录”（你的 Google 身份）；Google Tag Manager 仅在你"
        "同意分析后使用。"
    ),
    "privacy.retention.h": "6. 数据保存多久",
    "privacy.retention.usage": (
        "用量元数据及其按小时汇总：{usage_days} 天（约 {usage_months} 个月），之后由每天运行的"
        "清理任务删除。"
    ),
    "privacy.retention.accounts": (
        "你删除账户后，登录、你的代理密钥和提供商密钥会立即失效（提供商密钥被销毁）。其余个人"
        "数据会在 {grace_days} 天后清除。余额变动的账目会作为会计记录保留，但不含你的邮箱地址或"
        "任何其他个人数据。"
    ),
    "privacy.retention.support": (
        "客服消息及与网站助手的对话：{support_days} 天（约 {support_months} 个月）。"
        "我们发给你的邮件记录：保存"
        "该期限与用量数据保存期限中较短者；邮件正文在发出后（未发出的，在其中链接过期后）即删除。"
    ),
    "privacy.retention.sessions": "登录会话：直到你退出登录，或在 {session_days} 天后过期。",
    "privacy.rights.h": "7. 你的权利及行使方式",
    "privacy.rights.access": (
        "访问与可携带：在“设置”中点击“下载我的数据”，即可获得一个包含 JSON 和 CSV 文件的 zip "
        "压缩包，内含你的账户、密钥的元数据（绝不含密钥本身）、用量、账目、客服消息及回复，"
        "以及你与网站助手的对话。"
    ),
    "privacy.rights.rectify": ("更正：在“设置”中修改你的邮箱地址（需在新地址确认）、密码和语言。"),
    "privacy.rights.erase": "删除：在“设置”中点击“删除账户”，并输入你的邮箱地址确认。",
    "privacy.rights.object": (
        "反对与同意：在“设置”中退订营销邮件；通过“Cookie 设置”拒绝或撤回分析同意。"
    ),
    "privacy.rights.contact": (
        "其他任何请求，或你无法登录时，请写信至 {contact}。你也可以向所在地的数据保护机构投诉。"
    ),
    "privacy.security.h": "8. 安全",
    "privacy.security.body": (
        "密码、会话令牌、备用码和代理密钥只以哈希值保存；提供商密钥和两步验证密钥使用 "
        "AES-256-GCM 加密；IP 地址只以带密钥的哈希值保存；表单有跨站请求防护，"
        "登录尝试和验证码输入有频率限制。所有账户都可以开启两步验证登录。"
    ),
    "privacy.changes.h": "9. 变更与联系方式",
    "privacy.changes.body": (
        "如有变更，我们会在此公布并注明新的生效日期，重要变更会通过邮件通知你。关于本政策的"
        "问题请联系：{contact}。"
    ),
    # --- terms --------------------------------------------------------------------------
    "terms.intro": (
        "本条款适用于你对 aiusage（{site}）的使用，包括网站、控制台和 API 代理。创建账户即表示"
        "你接受本条款。"
    ),
    "terms.service.h": "1. 服务内容",
    "terms.service.body": (
        "aiusage 把你发送到代理的请求转发给模型提供商（Anthropic 或 OpenAI），统计其 token、"
        "费用和耗时，从你的预付余额中扣费，并向你展示用量。我们不保存请求或响应的内容。"
    ),
    "terms.account.h": "2. 你的账户与密钥",
    "terms.account.body": (
        "请提供真实的邮箱地址，并对密码和代理密钥保密：使用你的密钥发出的请求都会向你收费。"
        "一旦怀疑密钥泄露，请立即在控制台中吊销。我们建议在“设置”中开启两步验证登录，"
        "并在那里查看你已登录的会话列表；注销任何你不认识的会话。"
    ),
    "terms.providers.h": "3. 模型提供商",
    "terms.providers.body": (
        "请求由模型提供商依据其自身的条款和使用政策处理，你必须遵守这些条款和政策。使用你自己的"
        "提供商密钥时，你还须遵守你与该提供商之间的协议。"
    ),
    "terms.money.h": "4. 余额、价格与支付",
    "terms.money.body": (
        "余额通过 Stripe 以美元预付。每个请求的费用为其 token 数量乘以模型价格；使用你自己的密钥"
        "时，我们按该费用收取服务费；使用我们的密钥时，收取费用加上加价。余额不足以支付的请求"
        "会在转发前被拒绝。退款和支付争议会从余额中扣除。关于未使用余额的退款，请联系 "
        "{contact}。"
    ),
    "terms.use.h": "5. 合理使用",
    "terms.use.body": (
        "不得将本服务用于任何违法用途、伤害他人、规避其限制或提供商的政策、转售你的密钥访问"
        "权限，或攻击本服务、使其超负荷。"
    ),
    "terms.availability.h": "6. 可用性与责任",
    "terms.availability.body": (
        "本服务按现状提供。提供商和网络有时会出现故障；我们不保证服务始终可用或没有错误。在法律"
        "允许的范围内，我们的责任以你在索赔前十二个月内向我们支付的金额为限。"
    ),
    "terms.end.h": "7. 终止",
    "terms.end.body": (
        "你可以随时在“设置”中删除账户。对于违反本条款的账户，我们可以暂停或关闭。你的数据"
        "如何处理，见隐私政策。"
    ),
    "terms.changes.h": "8. 变更与联系方式",
    "terms.changes.body": (
        "如有变更，我们会在此公布并注明新的生效日期，重要变更会通过邮件通知你。联系方式："
        "{contact}。"
    ),
}
