//! The POS catalog and the mapping assistant: browse the catalog, see each dish's mapping
//! status with suggestions, and apply the suggestions.

use std::collections::BTreeSet;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiResult, Envelope, ok, ok_with};
use super::models::{
    AppliedData, ApplySuggestionsRequest, CatalogData, CatalogItemOut, DishMappingOut, MappingData,
    PageInfo,
};
use super::params;
use crate::app::App;
use crate::catalog::mapping::{self, Coverage, DishMapping};
use crate::catalog::{Catalogs, Served};
use crate::domain::{BusinessId, format_millis, now_millis};
use crate::store::catalog::CatalogItem;
use crate::store::{Integration, IntegrationPatch, businesses, integrations};
use crate::{Error, Result};

/// The business (for its currency) and its integration.
fn integration_for(
    app: &App,
    seller: &str,
    business_id: &BusinessId,
) -> Result<(businesses::Business, Integration)> {
    app.store.read(|c| {
        let business = businesses::owned_business(c, seller, business_id)?;
        let integration = integrations::owned_integration(c, seller, business_id)?;
        Ok((business, integration))
    })
}

/// The mapping view of a business, with the catalog it was compared against.
fn mapping_view(
    app: &App,
    seller: &str,
    business_id: &BusinessId,
) -> Result<(Integration, Vec<DishMapping>, Coverage, Option<Served>)> {
    let (business, integration) = integration_for(app, seller, business_id)?;
    let dishes = app
        .store
        .read(|c| businesses::dishes_of_business(c, business_id))?;
    let served = Catalogs::of(app).if_any(&integration, business.currency)?;
    let catalog = served.as_ref().map(|s| s.catalog.items.as_slice());
    let (rows, coverage) = mapping::view(&dishes, &integration.item_mapping, catalog);
    Ok((integration, rows, coverage, served))
}

fn matches(item: &CatalogItem, needle: &str) -> bool {
    item.name.to_lowercase().contains(needle)
        || item
            .variation_name
            .as_deref()
            .is_some_and(|v| v.to_lowercase().contains(needle))
}

/// The POS catalog and item mapping. The app comes to each operation as request data.
#[derive(Default)]
pub struct CatalogApi;

#[OpenApi(prefix_path = "/api/v1/pos", tag = "ApiTags::Pos")]
impl CatalogApi {
    /// The POS catalog of a business
    ///
    /// The POS's sellable items (Square: one entry per item variation; Zoho: active items),
    /// filtered by `q` (case-insensitive, in the name or variation name). Cached per
    /// integration and read again from the POS when older than `--catalog-ttl` or with
    /// `refresh=true`; while the POS cannot be read the cached catalog is served and the message
    /// says so. 409 without an active integration or for Dine; 502 UPSTREAM_ERROR when the POS
    /// fails and nothing is cached.
    // poem-openapi takes each query parameter as an argument of its own.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/catalog/:businessId",
        method = "get",
        operation_id = "getPosCatalog"
    )]
    async fn catalog(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        /// Only entries whose name or variation name contains this (case-insensitive).
        #[oai(validator(max_length = 200, pattern = r"^[^\x00]*$"))]
        q: Query<Option<String>>,
        /// Read the catalog from the POS now, whatever the cache's age.
        refresh: Query<Option<bool>>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<CatalogData>>> {
        let id = BusinessId::from(business_id.0);
        let page = params::page(limit.0, offset.0)?;
        let refresh = refresh.0.unwrap_or(false);
        let app_ = app.clone();
        let served = app
            .as_seller(&auth)
            .run(move |_, seller| {
                let (business, integration) = integration_for(&app_, seller, &id)?;
                Catalogs::of(&app_).read(&integration, business.currency, refresh)
            })
            .await?;
        let needle = q.0.unwrap_or_default().trim().to_lowercase();
        let found: Vec<CatalogItem> = served
            .catalog
            .items
            .into_iter()
            .filter(|i| needle.is_empty() || matches(i, &needle))
            .collect();
        let total = found.len() as i64;
        let items = found
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit).unwrap_or(0))
            .map(CatalogItemOut::from)
            .collect();
        let data = CatalogData {
            items,
            page: PageInfo {
                total,
                limit: page.limit,
                offset: page.offset,
            },
            fetched_at: served.catalog.fetched_at.into(),
        };
        Ok(match served.stale_because {
            Some(why) => ok_with(
                data,
                format!(
                    "the POS could not be read ({why}); this is the catalog read at {}",
                    format_millis(served.catalog.fetched_at)
                ),
            ),
            None => ok(data),
        })
    }

    /// The item mapping of a business, with suggestions
    ///
    /// Every dish with its status (`mapped`, `unmapped`, `missing`: mapped to an id the catalog
    /// no longer has, `price_differs`), coverage counts, and for unmapped or missing dishes
    /// the best name match in the catalog (1.0 exact; nothing under 0.8). Without a catalog
    /// (Dine, or the POS unreachable with nothing cached) statuses are only mapped/unmapped.
    #[oai(
        path = "/mapping/:businessId",
        method = "get",
        operation_id = "getItemMapping"
    )]
    async fn mapping(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<MappingData>>> {
        let id = BusinessId::from(business_id.0);
        let app_ = app.clone();
        let (_, rows, coverage, served) = app
            .as_seller(&auth)
            .run(move |_, seller| mapping_view(&app_, seller, &id))
            .await?;
        Ok(ok(MappingData {
            dishes: rows.into_iter().map(DishMappingOut::from).collect(),
            coverage: coverage.into(),
            catalog_fetched_at: served.map(|s| s.catalog.fetched_at.into()),
        }))
    }

    /// Write the mapping suggestions into item_mapping
    ///
    /// Maps each unmapped or missing dish (of `dish_ids`, when given) whose suggestion scores at
    /// least `min_score` (default 1.0: exact name matches only). 409 without an active
    /// integration or for Dine; 502 when the catalog cannot be read and none is cached.
    #[oai(
        path = "/mapping/:businessId/apply-suggestions",
        method = "post",
        operation_id = "applyMappingSuggestions"
    )]
    async fn apply_suggestions(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        body: Json<ApplySuggestionsRequest>,
    ) -> ApiResult<Json<Envelope<AppliedData>>> {
        let id = BusinessId::from(business_id.0);
        let min_score = body.min_score.unwrap_or(1.0);
        let only: Option<BTreeSet<String>> = body
            .dish_ids
            .as_ref()
            .map(|ids| ids.iter().map(Uuid::to_string).collect());
        let app_ = app.clone();
        let (applied, integration) = app
            .as_seller(&auth)
            .run(move |store, seller| {
                let (business, integration) = integration_for(&app_, seller, &id)?;
                // The seller asked for a write that needs the catalog: say why there is none.
                Catalogs::of(&app_).read(&integration, business.currency, false)?;
                let (seen, rows, _, _) = mapping_view(&app_, seller, &id)?;
                if let Some(only) = &only {
                    let known: BTreeSet<&str> = rows.iter().map(|r| r.dish_id.as_str()).collect();
                    if let Some(unknown) = only.iter().find(|d| !known.contains(d.as_str())) {
                        return Err(Error::invalid(
                            "dish_ids",
                            format!("{unknown} is not a dish of this business"),
                        ));
                    }
                }
                let chosen: Vec<(String, String)> = rows
                    .into_iter()
                    .filter(|r| only.as_ref().is_none_or(|o| o.contains(&r.dish_id)))
                    .filter_map(|r| {
                        let s = r.suggestion?;
                        (s.score >= min_score).then_some((r.dish_id, s.pos_item_id))
                    })
                    .collect();
                let (seller, seen) = (seller.to_string(), seen.item_mapping);
                store.write(move |tx| {
                    // Applied over the mapping as it is now; a dish the seller mapped since the
                    // view was built keeps the seller's choice.
                    let current = integrations::owned_integration(tx, &seller, &id)?;
                    let mut mapping = current.item_mapping.clone();
                    let mut applied = 0;
                    for (dish, item) in chosen {
                        if mapping.get(&dish) == seen.get(&dish) {
                            mapping.insert(dish, item);
                            applied += 1;
                        }
                    }
                    let patch = IntegrationPatch {
                        item_mapping: Some(mapping),
                        ..IntegrationPatch::default()
                    };
                    let integration = integrations::update(tx, &seller, &id, &patch, now_millis())?;
                    Ok((applied, integration))
                })
            })
            .await?;
        Ok(ok(AppliedData {
            applied,
            integration: integration.into(),
        }))
    }
}
