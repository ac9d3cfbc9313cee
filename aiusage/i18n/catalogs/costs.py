"""What a request costs, in three labelled parts; and the first-five-minutes checklist."""

EN = {
    "costs.provider_cost": "Provider cost",
    "costs.fee": "Our fee",
    "costs.charged": "Charged",
    "costs.provider_cost_30d": "Provider cost (30 days)",
    "costs.provider_cost_hint": "At list price. On your own key the provider bills it to you.",
    "costs.fee_30d": "Our fee (30 days)",
    "costs.pricing_link": "How we charge →",
    "onboarding.title": "Get started",
    "onboarding.step_payment": "Add your own Anthropic or OpenAI key, or buy credit",
    "onboarding.step_payment_key": "Add a provider key",
    "onboarding.step_payment_credit": "Buy credit",
    "onboarding.step_key": "Create a proxy key for your tools",
    "onboarding.step_key_link": "Create a key",
    "onboarding.step_request": "Send your first request through the proxy",
    "onboarding.step_request_link": "Connect a tool",
}

ZH = {
    "costs.provider_cost": "服务商费用",
    "costs.fee": "我们的服务费",
    "costs.charged": "扣费",
    "costs.provider_cost_30d": "服务商费用（30 天）",
    "costs.provider_cost_hint": "按官方价格计算。使用你自己的密钥时，由服务商直接向你收取。",
    "costs.fee_30d": "我们的服务费（30 天）",
    "costs.pricing_link": "我们如何收费 →",
    "onboarding.title": "开始使用",
    "onboarding.step_payment": "添加你自己的 Anthropic 或 OpenAI 密钥，或购买额度",
    "onboarding.step_payment_key": "添加服务商密钥",
    "onboarding.step_payment_credit": "购买额度",
    "onboarding.step_key": "为你的工具创建一个代理密钥",
    "onboarding.step_key_link": "创建密钥",
    "onboarding.step_request": "通过代理发送第一个请求",
    "onboarding.step_request_link": "接入工具",
}
