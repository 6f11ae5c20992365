//! Who is calling: the bearer token to a principal (the token table is parsed once per isolate).

use super::*;

thread_local! {
    /// The parsed token table with the text it was parsed from (re-parsed when the text changes).
    static TOKENS: std::cell::RefCell<Option<(String, Vec<Principal>)>> = const { std::cell::RefCell::new(None) };
}

pub(super) fn principal(req: &Request, env: &Env) -> Result<Principal, ApiError> {
    let config = env
        .var("STOCKLINE_TOKENS")
        .map(|v| v.to_string())
        .or_else(|_| env.secret("STOCKLINE_TOKENS").map(|v| v.to_string()))
        .map_err(|_| ApiError::internal("no token table is configured (STOCKLINE_TOKENS)"))?;
    let authorization = req.headers().get("authorization").ok().flatten();
    TOKENS.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().is_none_or(|(text, _)| *text != config) {
            let table = parse_tokens(&config).map_err(ApiError::internal)?;
            *cached = Some((config, table));
        }
        let (_, table) = cached.as_ref().expect("just parsed");
        authenticate(table, authorization.as_deref()).cloned().ok_or_else(ApiError::unauthorized)
    })
}
