//! Type constraints in `variable` blocks: `string`, `list(string)`, `map(number)`, `object({…})`.

use hcl_edit::expr::Expression;
use strata_core::schema::Type;

/// Reads a type constraint. Object and tuple types are accepted but checked only as "any
/// value": the value model has maps and lists, not per-attribute object types.
pub(crate) fn parse_type(e: &Expression) -> Result<Type, String> {
    match e {
        Expression::Variable(v) => named(v.as_str()),
        // The quoted form of old Terraform versions: type = "string".
        Expression::String(s) => named(s.value()),
        Expression::FuncCall(f) => {
            let name = f.name.name.as_str();
            let inner = || -> Result<Type, String> {
                match f.args.len() {
                    1 => parse_type(f.args.get(0).expect("one argument")),
                    _ => Err(format!("{name}(…) takes exactly one type")),
                }
            };
            match name {
                "list" | "set" => Ok(Type::list(inner()?)),
                "map" => Ok(Type::map(inner()?)),
                "object" | "tuple" => Ok(Type::Any),
                "optional" => inner(),
                other => Err(format!("unknown type constructor \"{other}\"; expected list, set, map, object or tuple")),
            }
        }
        _ => Err("a type is string, number, bool, any, list(TYPE), set(TYPE), map(TYPE), object({…}) or tuple([…])".into()),
    }
}

fn named(name: &str) -> Result<Type, String> {
    match name {
        "string" => Ok(Type::String),
        "number" => Ok(Type::Number),
        "bool" => Ok(Type::Bool),
        "any" => Ok(Type::Any),
        "list" | "set" => Ok(Type::list(Type::Any)),
        "map" => Ok(Type::map(Type::Any)),
        other => Err(format!("unknown type \"{other}\"; expected string, number, bool, any, list(…), map(…), set(…) or object({{…}})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Result<Type, String> {
        parse_type(&hcl_edit::parser::parse_expr(s).unwrap())
    }

    #[test]
    fn reads_type_constraints() {
        assert_eq!(ty("string"), Ok(Type::String));
        assert_eq!(ty("list(number)"), Ok(Type::list(Type::Number)));
        assert_eq!(
            ty("map(list(string))"),
            Ok(Type::map(Type::list(Type::String)))
        );
        assert_eq!(ty("object({ a = string })"), Ok(Type::Any));
        assert!(ty("strin").unwrap_err().contains("unknown type"));
    }
}
